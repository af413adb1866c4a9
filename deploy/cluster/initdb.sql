-- The store gets its own database next to Dagster's (BGP_DATABASE_URL in cluster.env).
CREATE DATABASE bgp OWNER dagster;
