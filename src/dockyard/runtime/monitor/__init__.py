"""Model monitoring in the service: ground truth, payload log, input drift and the status page."""
