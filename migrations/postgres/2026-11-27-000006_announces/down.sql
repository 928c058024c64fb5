DROP TABLE announces;
