"""The day every test lives in. No test reads the calendar: the services' clocks start here, the demo data is
seeded for this day, and a test that needs another time moves a clock from it. Chosen mid-year, so that a test
moving a month either way stays in the same year, and in the year the tests' fixed dates were written for."""

from datetime import UTC, datetime

TEST_NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
TODAY = TEST_NOW.date()
