"""Running a model card: the card schema and data sources, the stages, the report and the
output folder."""
