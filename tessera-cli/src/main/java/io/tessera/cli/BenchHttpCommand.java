package io.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.benchmarks.http.ClosedLoopLoad;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tessera bench http}: the options of {@link ClosedLoopLoad}. */
@Command(name = "http", mixinStandardHelpOptions = true,
        description = "Closed-loop load on an OpenAI-compatible /v1/completions endpoint (serve or router): "
                + "requests/s, completion tokens/s, latency percentiles, errors.")
final class BenchHttpCommand implements Callable<Integer> {

    @Option(names = "--url", required = true, paramLabel = "URL", description = "Base URL, e.g. http://127.0.0.1:8080.")
    URI url;

    @Option(names = "--num-requests", defaultValue = "64", paramLabel = "N", description = "Requests (default: ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--concurrency", defaultValue = "8", paramLabel = "C", description = "Clients (default: ${DEFAULT-VALUE}).")
    int concurrency;

    @Option(names = "--max-tokens", defaultValue = "32", paramLabel = "N", description = "max_tokens (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--model-name", paramLabel = "NAME",
            description = "The request's model field (default: the first id of the server's /v1/models).")
    String modelName;

    @Option(names = "--json", description = "Print one JSON object on standard output.")
    boolean json;

    @Mixin
    ApiKeyOption apiKey = new ApiKeyOption();

    @Override
    public Integer call() throws Exception {
        Map<String, Object> o = new ClosedLoopLoad(url, modelName, apiKey.key(), requests, concurrency, maxTokens).run();
        if (json) {
            System.out.println(new ObjectMapper().writeValueAsString(o));
        } else {
            ClosedLoopLoad.print(System.out, o);
        }
        return ((Integer) o.get("errors")) == 0 ? 0 : 1;
    }
}
