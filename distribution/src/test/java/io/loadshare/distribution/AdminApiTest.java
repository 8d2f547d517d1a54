package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.pipeline.ServiceTable;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.sync.SyncStatus;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin API's OpenAPI document, which the tarball ships ({@code api/admin-api.json}), against the server's real
 * answers: every operation it describes is asked (its required parameters filled), answers with a status the
 * document lists and that status's media type, and a JSON answer fits the schema, which admits no undocumented
 * property. Asked too: a refused POST (403) and a bad filter (400), which the document lists.
 */
class AdminApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A valid value for each query parameter the document marks required. */
    private static final Map<String, String> VALUES = Map.of("service", "web", "backend", "192.0.2.11", "state",
            "draining", "weight", "2");

    @TempDir
    Path dir;

    @Test
    void everyOperationAnswersAsDocumented() throws Exception {
        JsonNode spec = JSON.readTree(Path.of("src/main/dist/api/admin-api.json").toFile());
        assertEquals("3.0.3", spec.path("openapi").asText());
        Service web = new Service(0, "web", Ipv4Address.parse("198.51.100.10"), IpProtocol.TCP, 80,
                () -> (pool, flow) -> null, BackendPool.of(List.of(
                        new Backend(1, Ipv4Address.parse("192.0.2.11"), 0, 0x0200_0000_0001L, 1, BackendState.ACTIVE),
                        new Backend(2, Ipv4Address.parse("192.0.2.12"), 0, 0x0200_0000_0002L, 1,
                                BackendState.ACTIVE))));
        DispatchContext context = new DispatchContext(CoreSettings.defaults(), new ServiceTable(List.of(web)));
        SyncStatus sync = new SyncStatus(true, List.of(new SyncStatus.Peer("192.0.2.3:7680", "streaming", true, true,
                10, 12, 40, 0, List.of())), 12, 1_000_000, 0, 3, 0, 0, Map.of("malformed", 0L));
        Path file = dir.resolve("api.conf");
        Files.writeString(file, """
                loadshare {
                  interfaces.client = d0
                  services = [ { name = web, address = "198.51.100.10", port = 80, scheduler = round-robin,
                    backends = [ "192.0.2.11", "192.0.2.12" ] } ]
                }
                """);
        DispatcherConfig.ServiceConfig config = DispatcherConfig.load(file, SchedulerRegistry.load()).services()
                .getFirst();
        try (AdminServer admin = new AdminServer(new DispatcherView(List.of(web), () -> List.of(config),
                List.of(context), List.of(), null, () -> Map.of("198.51.100.10", true), () -> sync),
                () -> List.of("web: nothing changed"), () -> "withdrawn\n",
                new DispatcherConfig.Admin(true, "127.0.0.1", 0, Duration.ofSeconds(5)));
             HttpClient http = HttpClient.newHttpClient()) {
            String base = "http://127.0.0.1:" + admin.address().getPort();
            List<String> asked = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> paths = spec.path("paths").fields(); paths.hasNext();) {
                Map.Entry<String, JsonNode> path = paths.next();
                // The drain last: it is the one that stops a real dispatcher.
                for (String method : List.of("get", "post")) {
                    JsonNode operation = path.getValue().get(method);
                    if (operation == null || path.getKey().equals("/drain")) {
                        continue;
                    }
                    check(spec, operation, http, base, method, path.getKey(), query(operation), Map.of());
                    asked.add(method + " " + path.getKey());
                }
            }
            JsonNode drain = spec.path("paths").path("/drain").path("post");
            check(spec, spec.path("paths").path("/backends/state").path("post"), http, base, "post",
                    "/backends/state", query(spec.path("paths").path("/backends/state").path("post")),
                    Map.of("Origin", "http://example.com"));
            check(spec, spec.path("paths").path("/connections").path("get"), http, base, "get", "/connections",
                    "?state=open", Map.of());
            check(spec, drain, http, base, "post", "/drain", "", Map.of());
            asked.add("post /drain");
            assertEquals(Set.of("get /metrics", "get /status", "get /connections", "post /reload", "post /drain",
                    "post /backends/state", "post /backends/weight"), Set.copyOf(asked),
                    "the document describes every route the server has");
        }
    }

    private static String query(JsonNode operation) {
        StringBuilder query = new StringBuilder();
        for (JsonNode parameter : operation.path("parameters")) {
            if (parameter.path("required").asBoolean()) {
                String name = parameter.path("name").asText();
                query.append(query.isEmpty() ? '?' : '&').append(name).append('=')
                        .append(URLEncoder.encode(VALUES.get(name), StandardCharsets.UTF_8));
            }
        }
        return query.toString();
    }

    private static void check(JsonNode spec, JsonNode operation, HttpClient http, String base, String method,
            String path, String query, Map<String, String> headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path + query));
        headers.forEach(request::header);
        request = method.equals("get") ? request.GET() : request.POST(HttpRequest.BodyPublishers.noBody());
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        String what = method.toUpperCase() + " " + path + query + " answered " + response.statusCode() + ": "
                + response.body();
        JsonNode documented = operation.path("responses").get(String.valueOf(response.statusCode()));
        assertTrue(documented != null, what + "; the document lists " + operation.path("responses").fieldNames());
        String type = response.headers().firstValue("content-type").orElse("").split(";")[0].strip();
        JsonNode media = documented.path("content").get(type);
        assertTrue(media != null, what + "; its content type " + type + " is not the documented "
                + documented.path("content").fieldNames());
        if (type.equals("application/json")) {
            List<String> problems = new ArrayList<>();
            validate(JSON.readTree(response.body()), media.path("schema"), spec, "$", problems);
            assertEquals(List.of(), problems, what);
        }
    }

    /** OpenAPI's schema subset the document uses: $ref, type, required, properties, additionalProperties, items, enum. */
    private static void validate(JsonNode value, JsonNode schema, JsonNode spec, String at, List<String> problems) {
        if (schema.has("$ref")) {
            schema = spec.at(schema.path("$ref").asText().substring(1));
        }
        boolean fits = switch (schema.path("type").asText()) {
            case "object" -> value.isObject();
            case "array" -> value.isArray();
            case "string" -> value.isTextual();
            case "integer" -> value.isIntegralNumber();
            case "boolean" -> value.isBoolean();
            default -> false;
        };
        if (!fits) {
            problems.add(at + " is not " + schema.path("type").asText() + ": " + value);
            return;
        }
        if (schema.has("enum") && !schema.path("enum").toString().contains(value.toString())) {
            problems.add(at + " is none of " + schema.path("enum"));
        }
        for (JsonNode required : schema.path("required")) {
            if (!value.has(required.asText())) {
                problems.add(at + " lacks " + required.asText());
            }
        }
        if (value.isArray()) {
            for (int i = 0; i < value.size(); i++) {
                validate(value.get(i), schema.path("items"), spec, at + "[" + i + "]", problems);
            }
        }
        if (value.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> fields = value.fields(); fields.hasNext();) {
                Map.Entry<String, JsonNode> field = fields.next();
                JsonNode property = schema.path("properties").get(field.getKey());
                JsonNode additional = schema.get("additionalProperties");
                if (property != null) {
                    validate(field.getValue(), property, spec, at + "." + field.getKey(), problems);
                } else if (additional != null && additional.isObject()) {
                    validate(field.getValue(), additional, spec, at + "." + field.getKey(), problems);
                } else {
                    problems.add(at + "." + field.getKey() + " is not documented");
                }
            }
        }
    }
}
