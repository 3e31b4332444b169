-- One database per Divert process, as `make run` creates them (DESIGN §8). Runs once, on an empty data volume.
CREATE DATABASE referral;
CREATE DATABASE casemgmt;
CREATE DATABASE consent;
CREATE DATABASE prosecution;
CREATE DATABASE audit;
CREATE DATABASE evaluation;
CREATE DATABASE gateway;
