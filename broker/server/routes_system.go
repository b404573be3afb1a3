package server

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
)

func (s *Server) systemRoutes() []route {
	return []route{
		{method: "GET", path: "/healthz", role: auth.Anonymous, handle: s.healthz, out: api.Health{},
			summary: "Liveness: the process answers."},
		{method: "GET", path: "/readyz", role: auth.Anonymous, handle: s.readyz, out: api.Health{},
			summary: "Readiness: the database takes writes."},
		{method: "GET", path: "/metrics", role: auth.Anonymous, handle: s.promMetrics,
			summary: "Prometheus metrics (no personal data; bind or filter at the network edge)."},
		{method: "GET", path: "/openapi.json", role: auth.Anonymous, handle: s.openAPI,
			summary: "This API's OpenAPI 3.1 document, generated from the route table."},
	}
}

func (s *Server) healthz(c *call) (any, error) {
	return api.Health{Status: "ok", Version: s.cfg.Version}, nil
}

func (s *Server) readyz(c *call) (any, error) {
	ctx, cancel := context.WithTimeout(c.R.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Ready(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		return nil, api.Err(api.CodeUnavailable, "database")
	}
	return api.Health{Status: "ready", Version: s.cfg.Version}, nil
}

func (s *Server) promMetrics(c *call) (any, error) {
	promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}).ServeHTTP(c.W, c.R)
	return nil, nil
}

func (s *Server) openAPI(c *call) (any, error) {
	c.W.Header().Set("Content-Type", "application/json")
	c.W.WriteHeader(http.StatusOK)
	_, err := c.W.Write(s.openAPIDoc())
	return nil, err
}
