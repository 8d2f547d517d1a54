/** JMH microbenchmarks of loadshare's data path; run them with {@code dev/bench-jmh}. */
package io.loadshare.benchmarks;
