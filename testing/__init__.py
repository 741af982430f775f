"""Test helpers shared by every app's tests; production code never imports them."""
