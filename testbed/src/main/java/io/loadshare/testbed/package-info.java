/**
 * Real hosts on one machine for tests, benchmarks and the demo, never for the dispatcher's own package: network
 * namespaces, veth pairs and bridges, the paper's cluster, the load generator and the workload server.
 */
package io.loadshare.testbed;
