"""Running Workbench unattended: a process supervisor (:mod:`.supervisor`) and paper-to-live
graduation (:mod:`.graduation`). Like the service, nothing here runs an engine in-process: the
supervisor starts engine processes; graduation reads the journal."""
