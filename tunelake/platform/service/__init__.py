"""The tunelake service: a REST API (and a web page) over experiments, the lake and Ray jobs."""
