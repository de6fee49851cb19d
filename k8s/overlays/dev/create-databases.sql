CREATE DATABASE zkap_client_api;
CREATE DATABASE causeway;
CREATE DATABASE downstream_node;
