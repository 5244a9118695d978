"""Install tier: the Helm chart, the kustomize base and the Dockerfile, checked offline."""
