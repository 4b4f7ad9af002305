"""From a brief to a plan: goal extraction and the offline and model planners."""
