"""Sign-in brute force, in three dimensions (django-axes' handler, AXES_HANDLER).

django-axes counts failures for each set of AXES_LOCKOUT_PARAMETERS and locks when the
largest count reaches one limit. Cohort's sets need limits of their own:

- one username from one address: COHORT_LOGIN_FAILURE_LIMIT (5), someone guessing;
- one username from any address: COHORT_LOGIN_USERNAME_LIMIT (20), distributed guessing;
- one address for any usernames: COHORT_LOGIN_ADDRESS_LIMIT (20), password spraying.

The handler scales each count to the pair's limit, so axes' single comparison locks as
soon as any set reaches its own limit; the lockout lasts COHORT_LOGIN_LOCKOUT_MINUTES.
Failed Bearer tokens are counted per address by accounts.authentication.
"""

from axes.handlers.database import AxesDatabaseHandler

from django.conf import settings

# The order of settings.AXES_LOCKOUT_PARAMETERS, which get_user_attempts follows.
PAIR, USERNAME, ADDRESS = 0, 1, 2


def limits() -> list[int]:
    return [
        settings.AXES_FAILURE_LIMIT,
        settings.COHORT_LOGIN_USERNAME_LIMIT,
        settings.COHORT_LOGIN_ADDRESS_LIMIT,
    ]


class ScaledLimitsHandler(AxesDatabaseHandler):
    """AxesDatabaseHandler with a limit per lockout parameter set (see the module)."""

    def failures_by_set(self, request, credentials=None) -> list[int]:
        return [
            sum(attempts.values_list("failures_since_start", flat=True))
            for attempts in self.get_user_attempts(request, credentials)
        ]

    def get_failures(self, request, credentials=None) -> int:
        pair_limit = settings.AXES_FAILURE_LIMIT
        counts = self.failures_by_set(request, credentials)
        # count × pair_limit // own_limit reaches pair_limit exactly when count reaches its own.
        return max(
            (count * pair_limit // limit for count, limit in zip(counts, limits(), strict=False)),
            default=0,
        )
