"""Getting each public body's deliveries into PostgreSQL: specs, loaders, pseudonymisation."""
