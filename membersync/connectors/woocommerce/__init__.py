"""WooCommerce (with or without Subscriptions and Memberships): its payloads read and applied."""
