"""The work: functions that query and change models. Blueprints call these;
these never import blueprints or schemas, and never commit: the view commits
once, at the edge of the request."""
