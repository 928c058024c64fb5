DROP TABLE deliveries;
DROP TABLE inbox_activities;
