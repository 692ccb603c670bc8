"""The course's grading tools: nbgrader configuration, notebook authoring, grading command."""
