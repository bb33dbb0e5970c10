"""A project's reports: what it did over a period (actual values of its indicators, a narrative, evidence from the
association's vault), moved draft → submitted → accepted or changes requested, each move kept in its history.
Values obey the indicators' consistency rules (`indicators.targets`); only accepted ones count in the impact."""
