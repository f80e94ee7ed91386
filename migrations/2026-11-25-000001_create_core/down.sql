DROP TABLE IF EXISTS parser_plugins, jobs, events, system_settings, jira_push_requests,
    jira_issues, jira_projects, jira_instances, finding_group_findings, finding_groups,
    risk_acceptance_findings, risk_acceptances, test_import_finding_actions, test_imports,
    note_history, notes, note_types, location_product_refs, location_finding_refs, locations,
    finding_request_responses, finding_reviewers, finding_found_by, finding_cwes,
    finding_vulnerability_ids, findings, tests, development_environments, test_types,
    engagements, product_groups, product_type_groups, product_members, product_type_members,
    products, product_types, sla_configurations, global_roles, group_members, groups, roles,
    api_tokens, users CASCADE;
