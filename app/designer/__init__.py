"""The process designer's room (流程设计): the bundle of BPMN, DMN and form files checked, drafted,
reviewed, test-run and deployed from the web, and running cases moved to a new version."""
