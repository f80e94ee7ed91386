DROP TABLE finding_templates;
