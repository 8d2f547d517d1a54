package io.loadshare.testbed;

import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.testbed.Testbed;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * The paper's cluster in network namespaces on one machine: a client, a dispatcher and up to three backends on one
 * switched segment (a bridge). Only documentation addresses are used, and only inside these namespaces.
 *
 * <pre>
 *   client   c0 192.0.2.100, 203.0.113.100 ──┐
 *   dispatcher d0 192.0.2.1, 203.0.113.1  ──┼── bridge ── bN e0 192.0.2.1N (L2_VIP on lo; 203.0.113.0/24 via d0)
 * </pre>
 *
 * LSMAC: clients reach {@link #L2_VIP} through the dispatcher from 192.0.2.100; the backends hold it on their
 * loopback (ARP for it ignored) and answer on-link. LSNAT (one-armed): clients reach {@link #L3_VIP} from
 * 203.0.113.100, and the backends' replies route back through the dispatcher.
 */
public final class ClusterTestbed implements AutoCloseable {
    public static final String L2_VIP = "198.51.100.10";
    public static final String L3_VIP = "198.51.100.20";
    public static final int MAX_BACKENDS = 3;

    private final Testbed testbed;
    private final String client;
    private final String dispatcher;
    private final List<String> backends = new ArrayList<>();

    private ClusterTestbed(Testbed testbed) {
        this.testbed = testbed;
        String lan = testbed.namespace("lan");
        testbed.exec(lan, "ip", "link", "add", "br0", "type", "bridge");
        testbed.exec(lan, "ip", "link", "set", "br0", "up");
        client = testbed.namespace("client");
        attach(lan, client, "c0", "pc");
        testbed.address(client, "c0", "192.0.2.100/24");
        testbed.address(client, "c0", "203.0.113.100/24");
        testbed.exec(client, "ip", "route", "add", L2_VIP + "/32", "via", "192.0.2.1", "src", "192.0.2.100");
        testbed.exec(client, "ip", "route", "add", L3_VIP + "/32", "via", "203.0.113.1", "src", "203.0.113.100");
        // One connection per request wears out ports quickly: reuse them as soon as TCP allows.
        testbed.sysctl(client, "net.ipv4.ip_local_port_range", "1024 65535");
        testbed.sysctl(client, "net.ipv4.tcp_tw_reuse", "1");
        dispatcher = testbed.namespace("dispatcher");
        attach(lan, dispatcher, "d0", "pd");
        testbed.address(dispatcher, "d0", "192.0.2.1/24");
        testbed.address(dispatcher, "d0", "203.0.113.1/24");
        testbed.sysctl(dispatcher, "net.ipv4.ip_forward", "0");
        testbed.sysctl(dispatcher, "net.ipv4.conf.all.send_redirects", "0");
        for (int n = 1; n <= MAX_BACKENDS; n++) {
            String backend = testbed.namespace("b" + n);
            attach(lan, backend, "e0", "pb" + n);
            testbed.address(backend, "e0", backendAddress(n) + "/24");
            testbed.address(backend, "lo", L2_VIP + "/32");
            testbed.sysctl(backend, "net.ipv4.conf.all.arp_ignore", "1");
            testbed.sysctl(backend, "net.ipv4.conf.all.arp_announce", "2");
            testbed.exec(backend, "ip", "route", "add", "203.0.113.0/24", "via", "192.0.2.1");
            backends.add(backend);
        }
    }

    /** Builds the cluster; {@link #close} removes every namespace and process it made. */
    public static ClusterTestbed create() {
        requireRoot();
        Testbed testbed = Testbed.create();
        try {
            return new ClusterTestbed(testbed);
        } catch (RuntimeException e) {
            testbed.close();
            throw e;
        }
    }

    /** Fails with what is missing unless this process may create namespaces. */
    public static void requireRoot() {
        if (!Testbed.isRoot()) {
            throw new IllegalStateException("the cluster runs in network namespaces, which needs root (CAP_SYS_ADMIN"
                    + " and CAP_NET_ADMIN; CAP_NET_RAW for the dispatcher): run it with sudo");
        }
        for (String dir : new String[] {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
            if (Files.isExecutable(Path.of(dir, "ip"))) {
                return;
            }
        }
        throw new IllegalStateException("the ip tool is missing: install the Debian package iproute2");
    }

    private void attach(String lan, String namespace, String inside, String port) {
        testbed.veth(namespace, inside, lan, port);
        testbed.exec(lan, "ip", "link", "set", port, "master", "br0");
    }

    /**
     * Puts each host's kernel receive work on that host's cores (RPS), as separate machines would have it: the
     * client's on {@code client}, the dispatcher's and the backends' on {@code cluster}.
     */
    public void steerReceiveWork(BitSet client, BitSet cluster) {
        rps(this.client, "c0", client);
        rps(dispatcher, "d0", cluster);
        for (String backend : backends) {
            rps(backend, "e0", cluster);
        }
    }

    private void rps(String namespace, String interfaceName, BitSet cpus) {
        testbed.exec(namespace, "sh", "-c", "echo " + Long.toHexString(cpus.toLongArray()[0]) + " > /sys/class/net/"
                + interfaceName + "/queues/rx-0/rps_cpus");
    }

    /**
     * Makes the dispatcher's kernel an in-kernel dispatcher for {@code backends} servers, as the paper suite's
     * baselines: {@code l2} a netdev ingress rule that rewrites the MACs by a hash of the client's address and port
     * and forwards on the same link (LSMAC's job), {@code l3} a DNAT rule in nftables' nat prerouting hook with
     * forwarding on (LSNAT's). Needs nftables (Debian package nftables).
     *
     * @param rules where to write the rule set
     */
    public void nftables(String mode, int backends, Path rules) throws IOException {
        StringBuilder map = new StringBuilder();
        for (int n = 1; n <= backends; n++) {
            map.append(n == 1 ? "" : ", ").append(n - 1).append(" : ")
                    .append(mode.equals("l2") ? testbed.mac(backendNamespace(n), "e0") : backendAddress(n));
        }
        String table = mode.equals("l2") ? """
                table netdev lsdemo {
                  chain ingress {
                    type filter hook ingress device "d0" priority 0;
                    ip daddr %s tcp dport 80 ether saddr set %s ether daddr set jhash ip saddr . tcp sport mod %d map { %s } fwd to "d0"
                  }
                }
                """.formatted(L2_VIP, testbed.mac(dispatcher, "d0"), backends, map) : """
                table ip lsdemo {
                  chain pre {
                    type nat hook prerouting priority dstnat;
                    ip daddr %s tcp dport 80 dnat to numgen inc mod %d map { %s }
                  }
                }
                """.formatted(L3_VIP, backends, map);
        Files.writeString(rules, table);
        testbed.sysctl(dispatcher, "net.ipv4.ip_forward", mode.equals("l2") ? "0" : "1");
        testbed.exec(dispatcher, "nft", "-f", rules.toString());
    }

    /** Removes the in-kernel dispatcher of {@link #nftables}; LSNAT in user space needs forwarding off again. */
    public void nftablesOff() {
        testbed.exec(dispatcher, "nft", "flush", "ruleset");
        testbed.sysctl(dispatcher, "net.ipv4.ip_forward", "0");
    }

    /** Whether the nft tool is installed, for the in-kernel baselines. */
    public static boolean hasNftables() {
        for (String dir : new String[] {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
            if (Files.isExecutable(Path.of(dir, "nft"))) {
                return true;
            }
        }
        return false;
    }

    /** The address of backend {@code n} (1-based) on the segment. */
    public static String backendAddress(int n) {
        return "192.0.2.1" + n;
    }

    public Testbed testbed() {
        return testbed;
    }

    public String clientNamespace() {
        return client;
    }

    public String dispatcherNamespace() {
        return dispatcher;
    }

    /** The namespace of backend {@code n} (1-based). */
    public String backendNamespace(int n) {
        return backends.get(n - 1);
    }

    public static NetworkNamespace namespace(String name) {
        return NetworkNamespace.named(name);
    }

    /** Where backend {@code n} serves HTTP. */
    public static InetSocketAddress backendHttp(int n) {
        return new InetSocketAddress(backendAddress(n), 80);
    }

    @Override
    public void close() {
        testbed.close();
    }
}
