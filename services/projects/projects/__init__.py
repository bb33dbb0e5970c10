"""An association's projects: created and changed by its members (title, dates, cost, the QPV it serves and the
priorities it pursues), read by them and by the desk's services. Other rooms load a project through
`service.visible_project` and `repository.project_by_id`."""
