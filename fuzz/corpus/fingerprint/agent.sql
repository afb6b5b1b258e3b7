/* pgvigil */ SELECT current_setting('max_connections')::int, 0.25, E'it''s', $tag$x$tag$ -- c
