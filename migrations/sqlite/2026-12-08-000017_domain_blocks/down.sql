DROP TABLE domain_allows;
DROP TABLE domain_blocks;
