package io.loadshare.distribution;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.StaticBackend;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.config.StrictConfig;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.core.session.Persistence;
import io.loadshare.dispatch.l2.L2Settings;
import io.loadshare.dispatch.l3.L3Settings;
import io.loadshare.offload.OffloadSettings;
import io.loadshare.sync.SyncSettings;
import io.loadshare.transport.rawsocket.RawSocketSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * One dispatcher process's configuration, read from an operator's HOCON file with every module's
 * {@code reference.conf} behind it, validated strictly (types, ranges, unknown keys, scheduler names) before
 * anything starts. Every error names the file, the line, the key path and what was expected.
 *
 * @param file where it was read from
 * @param mode l2, l3 or l3-fullnat
 * @param clientInterface the l2 interface, or the l3 client-facing one
 * @param backendInterface the l3 backend-facing interface, or empty for one-armed
 * @param clientVlan the 802.1Q VLAN served on the client interface when it is a trunk, or 0
 * @param backendVlan the same for the backend interface
 * @param networkNamespace the namespace to open interfaces in, or empty
 * @param workers event loops, each with its own data sockets and session table ({@code auto}: one per core)
 * @param resolved the whole configuration with the references behind it, to tell what a reload changes
 */
public record DispatcherConfig(Path file, Mode mode, String clientInterface, String backendInterface, int clientVlan,
        int backendVlan, String networkNamespace, int workers, List<ServiceConfig> services, CoreSettings core, RawSocketSettings rawSocket,
        L2Settings l2, L3Settings l3, OffloadSettings offload, SyncSettings sync, Admin admin, Announce announce,
        Config resolved) {

    /**
     * The admin and metrics listener.
     *
     * @param enabled false runs none
     */
    public record Admin(boolean enabled, String address, int port, Duration readTimeout) {
    }

    static final String ROOT = "loadshare";
    /** Beyond this, fanout group ids and port slices grow thin; no machine here needs more. */
    static final int MAX_WORKERS = 256;

    /** The dispatch modes. */
    /**
     * Announcing the service addresses through a routing daemon.
     *
     * @param enabled false announces nothing
     * @param interfacePrefix the tun interfaces' names are this and 0, 1, ...
     * @param interval how often the pools are looked at
     * @param drainTimeout how long {@code loadshare drain} waits for sessions to end
     * @param stallTimeout how long a worker's event loop may run no task before every address is withdrawn
     */
    public record Announce(boolean enabled, String interfacePrefix, Duration interval, Duration drainTimeout,
            Duration stallTimeout) {
    }

    public enum Mode {
        L2,
        L3,
        L3_FULLNAT;

        static Mode parse(String text) {
            return switch (text.trim().toLowerCase(Locale.ROOT)) {
                case "l2" -> L2;
                case "l3" -> L3;
                case "l3-fullnat" -> L3_FULLNAT;
                default -> throw new IllegalArgumentException("expected l2, l3 or l3-fullnat, got '" + text + "'");
            };
        }
    }

    /**
     * One service entry.
     *
     * @param backends the static backends with their weights; empty means ARP discovery (l2)
     * @param persistence how clients stick to their backend, or null (timeout 0s)
     */
    public record ServiceConfig(String name, int address, int protocol, int port, String scheduler,
            Config schedulerSettings, List<StaticBackend> backends, int backendPort, int sourceNatAddress, int gateway,
            HealthChecker.Settings healthCheck, Persistence persistence) {
    }

    /** Reads and validates a file. */
    public static DispatcherConfig load(Path file, SchedulerRegistry schedulers) {
        if (!Files.isRegularFile(file)) {
            throw new ConfigException.IO(ConfigFactory.empty(file.toString()).origin(), "no such file");
        }
        Config parsed = ConfigFactory.parseFile(file.toFile(),
                ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF).setAllowMissing(false));
        return from(parsed, file, schedulers);
    }

    static DispatcherConfig from(Config parsed, Path file, SchedulerRegistry schedulers) {
        Config reference = ConfigFactory.defaultReference();
        Config config = parsed.withFallback(reference).resolve();
        StrictConfig.validate(config, reference, ROOT, Set.of(ROOT + ".services"));
        Config root = config.getConfig(ROOT);
        Mode mode = value(root, "mode", () -> Mode.parse(root.getString("mode")));
        String transport = root.getString("transport");
        if (!transport.equals("rawsocket")) {
            throw bad(root, "transport", "expected rawsocket, got '" + transport + "'");
        }
        List<? extends Config> entries = root.getConfigList("services");
        if (entries.isEmpty()) {
            throw bad(root, "services", "expected at least one service");
        }
        Config defaults = root.getConfig("service-defaults");
        List<ServiceConfig> services = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            services.add(service(entries.get(i), defaults, ROOT + ".services[" + i + "]", mode, schedulers));
        }
        String backendInterface = root.getString("interfaces.backend");
        if (mode == Mode.L2 && !backendInterface.isEmpty()) {
            throw bad(root, "interfaces.backend", "l2 uses one interface: leave interfaces.backend empty");
        }
        int clientVlan = vlan(root, "interfaces.client-vlan");
        int backendVlan = vlan(root, "interfaces.backend-vlan");
        if (backendInterface.isEmpty() && backendVlan != 0) {
            throw bad(root, "interfaces.backend-vlan", "there is no backend interface (l2, or l3 one-armed): leave it 0"
                    + " and set interfaces.client-vlan");
        }
        RawSocketSettings rawSocket = RawSocketSettings.from(config, RawSocketSettings.ROOT);
        if (rawSocket.vlan() != 0) {
            throw new ConfigException.BadValue(config.getValue(RawSocketSettings.ROOT + ".vlan").origin(),
                    RawSocketSettings.ROOT + ".vlan", "the dispatcher sets a VLAN per interface: use"
                    + " loadshare.interfaces.client-vlan and backend-vlan instead");
        }
        int adminPort = root.getInt("admin.port");
        if (adminPort < 0 || adminPort > 65535) {
            throw bad(root, "admin.port", "expected a port 0..65535, got " + adminPort);
        }
        Duration readTimeout = root.getDuration("admin.read-timeout");
        if (readTimeout.toMillis() < 1) {
            throw bad(root, "admin.read-timeout", "expected at least 1ms, got " + readTimeout);
        }
        Admin admin = new Admin(root.getBoolean("admin.enabled"), root.getString("admin.address"), adminPort,
                readTimeout);
        String prefix = root.getString("announce.interface-prefix");
        if (!prefix.matches("[A-Za-z][A-Za-z0-9_-]{0,11}")) {
            throw bad(root, "announce.interface-prefix", "expected 1 to 12 letters, digits, '-' or '_', starting with"
                    + " a letter, got '" + prefix + "'");
        }
        Duration announceInterval = root.getDuration("announce.interval");
        if (announceInterval.toMillis() < 10) {
            throw bad(root, "announce.interval", "expected at least 10ms, got " + announceInterval);
        }
        Duration stallTimeout = root.getDuration("announce.stall-timeout");
        if (stallTimeout.compareTo(announceInterval.multipliedBy(2)) < 0) {
            throw bad(root, "announce.stall-timeout", "expected at least twice announce.interval ("
                    + announceInterval.toMillis() + "ms), so that one slow look does not withdraw the addresses, got "
                    + stallTimeout.toMillis() + "ms");
        }
        Announce announce = new Announce(root.getBoolean("announce.enabled"), prefix, announceInterval,
                root.getDuration("announce.drain-timeout"), stallTimeout);
        int workers = workers(root);
        OffloadSettings offload = OffloadSettings.from(config, OffloadSettings.ROOT);
        if (workers > 1 && offload.mode() != OffloadSettings.Mode.OFF && offload.placeNewFlows()) {
            throw new ConfigException.BadValue(config.getValue(OffloadSettings.ROOT + ".place-new-flows").origin(),
                    OffloadSettings.ROOT + ".place-new-flows", "the XDP program reports the flows it places to one"
                    + " worker, and loadshare.workers is " + workers + ": set it false, or loadshare.workers = 1");
        }
        CoreSettings core = CoreSettings.from(config);
        if (offload.mode() != OffloadSettings.Mode.OFF && offload.placeNewFlows() && core.sourceLimit().enabled()) {
            throw new ConfigException.BadValue(config.getValue(OffloadSettings.ROOT + ".place-new-flows").origin(),
                    OffloadSettings.ROOT + ".place-new-flows", "the XDP program places new flows before the pipeline"
                    + " sees them, so io.loadshare.core.source-limit could not limit them: set one of the two false");
        }
        SyncSettings sync = SyncSettings.from(config, SyncSettings.ROOT);
        if (sync.enabled() && mode == Mode.L3_FULLNAT && sync.listen().getAddress().isAnyLocalAddress()) {
            throw new ConfigException.BadValue(config.getValue(SyncSettings.ROOT + ".listen-address").origin(),
                    SyncSettings.ROOT + ".listen-address", "l3-fullnat with sync needs this dispatcher's own address"
                    + " here: the survivor with the lowest one adopts a dead peer's source-NAT address");
        }
        return new DispatcherConfig(file, mode, root.getString("interfaces.client"), backendInterface, clientVlan,
                backendVlan, root.getString("network-namespace"), workers, List.copyOf(services), core,
                rawSocket, L2Settings.from(config, L2Settings.ROOT), L3Settings.from(config, L3Settings.ROOT), offload,
                sync, admin, announce, config);
    }

    /** {@code workers}: auto (one per core this process may run on) or 1..256. */
    private static int workers(Config root) {
        String value = root.getString("workers");
        if (value.equals("auto")) {
            return Runtime.getRuntime().availableProcessors();
        }
        try {
            int workers = Integer.parseInt(value);
            if (workers >= 1 && workers <= MAX_WORKERS) {
                return workers;
            }
        } catch (NumberFormatException e) {
            // Named below.
        }
        throw bad(root, "workers", "expected auto or a number of event loops 1.." + MAX_WORKERS + ", got '" + value
                + "'");
    }

    /**
     * What differs in {@code next} that only a restart can apply: everything but each service's backends, scheduler
     * and health check. Services are matched by name.
     *
     * @return one line per key path that differs, empty when {@code next} can be swapped in
     */
    List<String> restartNeeded(DispatcherConfig next) {
        List<String> problems = new ArrayList<>();
        Set<String> keys = new TreeSet<>();
        for (DispatcherConfig c : List.of(this, next)) {
            for (Map.Entry<String, ConfigValue> entry : c.resolved.entrySet()) {
                String key = entry.getKey();
                if ((key.startsWith(ROOT + ".") || key.startsWith("io.loadshare."))
                        && !key.startsWith(ROOT + ".services") && !key.startsWith(ROOT + ".service-defaults")) {
                    keys.add(key);
                }
            }
        }
        for (String key : keys) {
            ConfigValue before = resolved.hasPath(key) ? resolved.getValue(key) : null;
            ConfigValue after = next.resolved.hasPath(key) ? next.resolved.getValue(key) : null;
            if (!Objects.equals(before == null ? null : before.unwrapped(), after == null ? null : after.unwrapped())) {
                problems.add(key + " changed (" + render(before) + " -> " + render(after) + ")");
            }
        }
        List<String> names = services.stream().map(ServiceConfig::name).toList();
        List<String> nextNames = next.services.stream().map(ServiceConfig::name).toList();
        if (!names.equals(nextNames)) {
            problems.add(ROOT + ".services changed from " + names + " to " + nextNames
                    + " (services are added, removed or reordered at a restart)");
            return problems;
        }
        for (int i = 0; i < services.size(); i++) {
            ServiceConfig a = services.get(i);
            ServiceConfig b = next.services.get(i);
            String path = ROOT + ".services[" + i + "] (" + a.name() + ")";
            if (a.address() != b.address() || a.protocol() != b.protocol() || a.port() != b.port()) {
                problems.add(path + ": address, protocol or port changed");
            }
            if (a.backendPort() != b.backendPort() || a.sourceNatAddress() != b.sourceNatAddress()
                    || a.gateway() != b.gateway()) {
                problems.add(path + ": backend-port, source-nat-address or gateway changed");
            }
            if (a.backends().isEmpty() != b.backends().isEmpty()) {
                problems.add(path + ".backends: switched between ARP discovery and a static list");
            }
            if (!Objects.equals(a.persistence(), b.persistence())) {
                problems.add(path + ".persistence changed");
            }
        }
        return problems;
    }

    private static String render(ConfigValue value) {
        return value == null ? "unset" : value.render(ConfigRenderOptions.concise());
    }

    private static ServiceConfig service(Config entry, Config defaults, String path, Mode mode,
            SchedulerRegistry schedulers) {
        Config template = defaults.atPath("service");
        Config full = entry.withFallback(defaults).atPath("service");
        try {
            StrictConfig.validate(full, template, "service", Set.of("service.scheduler-settings"));
        } catch (ConfigException.ValidationFailed e) {
            throw new ConfigException.BadValue(entry.origin(), path, e.getMessage().replace("service.", path + "."));
        }
        Config s = full.getConfig("service");
        String name = s.getString("name");
        if (name.isBlank()) {
            throw new ConfigException.BadValue(entry.origin(), path + ".name", "every service needs a name");
        }
        int address = value(s, "address", path, () -> Ipv4Address.parse(s.getString("address")));
        int protocol = value(s, "protocol", path, () -> IpProtocol.parse(s.getString("protocol")));
        int port = s.getInt("port");
        if (port < 1 || port > 65535) {
            throw new ConfigException.BadValue(s.origin(), path + ".port", "expected a port 1..65535, got " + port);
        }
        String scheduler = s.getString("scheduler");
        value(s, "scheduler", path, () -> schedulers.factory(scheduler));
        List<StaticBackend> backends = backends(s, path);
        if (mode != Mode.L2 && backends.isEmpty()) {
            throw new ConfigException.BadValue(s.origin(), path + ".backends",
                    "l3 needs backend addresses (ARP discovery is an l2 feature)");
        }
        int backendPort = s.getInt("backend-port");
        if (backendPort < 0 || backendPort > 65535) {
            throw new ConfigException.BadValue(s.origin(), path + ".backend-port", "expected 0..65535, got " + backendPort);
        }
        String snat = s.getString("source-nat-address");
        if (mode == Mode.L3_FULLNAT && snat.isEmpty()) {
            throw new ConfigException.BadValue(s.origin(), path + ".source-nat-address",
                    "l3-fullnat needs the address clients are translated to");
        }
        int sourceNat = snat.isEmpty() ? 0 : value(s, "source-nat-address", path, () -> Ipv4Address.parse(snat));
        String gatewayText = s.getString("gateway");
        if (mode == Mode.L2 && !gatewayText.isEmpty()) {
            throw new ConfigException.BadValue(s.origin(), path + ".gateway", "l2 backends share the dispatcher's link");
        }
        int gateway = gatewayText.isEmpty() ? 0 : value(s, "gateway", path, () -> Ipv4Address.parse(gatewayText));
        HealthChecker.Settings healthCheck = healthCheck(s, path);
        if (backends.isEmpty() && healthCheck != null && !healthCheck.type().equals("tcp")) {
            throw new ConfigException.BadValue(s.getValue("health-check.type").origin(), path + ".health-check.type",
                    "backends discovered by ARP all hold the service address, so each is probed by a TCP SYN sent to"
                    + " its MAC: expected tcp or none, got '" + healthCheck.type() + "'");
        }
        return new ServiceConfig(name, address, protocol, port, scheduler, s.getConfig("scheduler-settings"), backends,
                backendPort, mode == Mode.L3_FULLNAT ? sourceNat : 0, gateway, healthCheck,
                persistence(s, path));
    }

    /** {@code backends}: bare addresses (of {@code backend-weight}) and {@code { address, weight }} entries. */
    private static List<StaticBackend> backends(Config s, String path) {
        int defaultWeight = weight(s.getInt("backend-weight"), s.getValue("backend-weight").origin(),
                path + ".backend-weight");
        ConfigList list = s.getList("backends");
        List<StaticBackend> backends = new ArrayList<>();
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            ConfigValue value = list.get(i);
            String at = path + ".backends[" + i + "]";
            StaticBackend backend = switch (value.valueType()) {
                case STRING -> new StaticBackend(address(value, at), defaultWeight);
                case OBJECT -> {
                    Config entry = ((ConfigObject) value).toConfig();
                    for (String key : entry.root().keySet()) {
                        if (!key.equals("address") && !key.equals("weight")) {
                            throw new ConfigException.BadValue(entry.getValue(key).origin(), at + "." + key,
                                    "unknown key; a backend takes address and weight");
                        }
                    }
                    if (!entry.hasPath("address")) {
                        throw new ConfigException.BadValue(value.origin(), at + ".address",
                                "every backend needs an address");
                    }
                    int weight = defaultWeight;
                    if (entry.hasPath("weight")) {
                        ConfigValue w = entry.getValue("weight");
                        if (w.valueType() != ConfigValueType.NUMBER) {
                            throw new ConfigException.BadValue(w.origin(), at + ".weight",
                                    "expected a whole number 0.." + Backend.MAX_WEIGHT + ", got " + render(w));
                        }
                        weight = weight(entry.getInt("weight"), w.origin(), at + ".weight");
                    }
                    yield new StaticBackend(address(entry.getValue("address"), at + ".address"), weight);
                }
                default -> throw new ConfigException.BadValue(value.origin(), at, "expected an address (\"192.0.2.11\")"
                        + " or { address = \"192.0.2.11\", weight = 3 }, got " + render(value));
            };
            if (!seen.add(backend.address())) {
                throw new ConfigException.BadValue(value.origin(), at, Ipv4Address.format(backend.address())
                        + " is listed twice");
            }
            backends.add(backend);
        }
        return backends;
    }

    private static int address(ConfigValue value, String path) {
        if (value.valueType() != ConfigValueType.STRING) {
            throw new ConfigException.BadValue(value.origin(), path, "expected an IPv4 address, got " + render(value));
        }
        try {
            return Ipv4Address.parse((String) value.unwrapped());
        } catch (IllegalArgumentException e) {
            throw new ConfigException.BadValue(value.origin(), path, e.getMessage());
        }
    }

    private static int weight(int weight, ConfigOrigin origin, String path) {
        if (weight < 0 || weight > Backend.MAX_WEIGHT) {
            throw new ConfigException.BadValue(origin, path, "expected a weight 0.." + Backend.MAX_WEIGHT + ", got "
                    + weight);
        }
        return weight;
    }

    /** The service's persistence, or null when its timeout is 0s. */
    private static Persistence persistence(Config s, String path) {
        Duration timeout = s.getDuration("persistence.timeout");
        if (timeout.isZero()) {
            return null;
        }
        int netmask = value(s, "persistence.netmask", path, () -> Ipv4Address.parse(s.getString(
                "persistence.netmask")));
        return value(s, "persistence", path, () -> new Persistence(timeout, netmask));
    }

    /** The service's health check, or null for none. */
    private static HealthChecker.Settings healthCheck(Config s, String path) {
        Config h = s.getConfig("health-check");
        String type = h.getString("type");
        if (type.equals("none")) {
            return null;
        }
        if (!HealthChecker.types().contains(type)) {
            throw new ConfigException.BadValue(h.getValue("type").origin(), path + ".health-check.type",
                    "expected none, tcp or http, got '" + type + "'");
        }
        long interval = h.getDuration("interval").toMillis();
        long timeout = h.getDuration("timeout").toMillis();
        if (timeout < 1 || interval < timeout) {
            throw new ConfigException.BadValue(h.getValue("timeout").origin(), path + ".health-check.timeout",
                    "expected at least 1ms and no more than the interval (" + interval + " ms), got " + timeout + " ms");
        }
        int rise = h.getInt("rise");
        int fall = h.getInt("fall");
        if (rise < 1 || fall < 1) {
            throw new ConfigException.BadValue(h.origin(), path + ".health-check", "rise and fall must be at least 1");
        }
        String sessions = h.getString("failed-backend-sessions");
        if (!sessions.equals("end") && !sessions.equals("keep")) {
            throw new ConfigException.BadValue(h.getValue("failed-backend-sessions").origin(),
                    path + ".health-check.failed-backend-sessions", "expected end or keep, got '" + sessions + "'");
        }
        return new HealthChecker.Settings(type, interval, timeout, rise, fall, h.getString("http-path"),
                h.getInt("expected-status"), sessions.equals("keep"));
    }

    /** A value whose parser throws IllegalArgumentException, as a config error naming the key. */
    private static <T> T value(Config config, String key, java.util.function.Supplier<T> parse) {
        return value(config, key, ROOT, parse);
    }

    private static <T> T value(Config config, String key, String path, java.util.function.Supplier<T> parse) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            throw new ConfigException.BadValue(config.getValue(key).origin(), path + "." + key, e.getMessage());
        }
    }

    private static int vlan(Config root, String key) {
        int vlan = root.getInt(key);
        if (vlan < 0 || vlan > 4094) {
            throw bad(root, key, "expected 0 (none) or an 802.1Q VLAN id 1..4094, got " + vlan);
        }
        return vlan;
    }

    private static ConfigException bad(Config config, String key, String problem) {
        return new ConfigException.BadValue(config.getValue(key).origin(), ROOT + "." + key, problem);
    }
}
