"""Cohort: an open-source CRM with colour-coded tags and dynamic segments."""
