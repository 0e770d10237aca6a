// Package edgetest runs the cluster's edge programs for tests: Kamailio,
// the SIP edge, with the repository's deploy/kamailio/kamailio.cfg, nginx,
// the HTTP and WebSocket edge, with deploy/nginx/nginx.conf, and
// nats-server, the nodes' bus, with deploy/nats/nats.conf. Each runs as
// the real Debian program on loopback with ports the kernel picks, its
// output in the test log; it is stopped, with every process it forked,
// when the test ends.
//
// A program that is not installed skips the test, or fails it under
// CI=true (siptest.RequireProgram); .ci/install-deps installs all three.
//
// Kamailio probes every node with OPTIONS each second and starts with every
// node out of rotation, so a test sees calls reach a node only about a
// second after Kamailio answers; tests poll for it.
package edgetest
