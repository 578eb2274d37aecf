DROP TABLE import_rows;
DROP TABLE import_chunks;
DROP TABLE imports;
