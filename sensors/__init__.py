"""Everything that starts runs: jobs, sensors and schedules. Each module exposes
`definitions(settings) -> dagster.Definitions`."""
