"""Koopman estimators: the shared standard-map data, the EDMD Gram fit on one CPU, streamed EDMD."""
