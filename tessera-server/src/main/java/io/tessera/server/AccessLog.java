package io.tessera.server;

import io.javalin.http.Context;
import java.util.Locale;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per API request on the logger {@code io.tessera.server.access}: method, path, status,
 * duration, and where known the response id, prompt and completion tokens and time to first token.
 * Never the body, the query string or any header (no prompt text, no API key). Successful GETs
 * that are not API calls (the web UI, {@code /health}, {@code /metrics}, the UI's {@code /stats}
 * polling) are left out: they would drown the requests.
 *
 * <pre>POST /v1/chat/completions 200 1.532s id=chatcmpl-5f0c... prompt_tokens=12 completion_tokens=40 ttft=0.081s</pre>
 */
final class AccessLog {

    static final Logger LOG = LoggerFactory.getLogger("io.tessera.server.access");

    private volatile Consumer<String> sink = LOG::info;

    /** Where lines go instead of the logger (tests). */
    void sink(Consumer<String> s) {
        sink = s;
    }

    /** Logs the request that just ended, unless it is one of those left out. */
    void log(Context ctx) {
        String method = ctx.method().name();
        String path = ctx.path();
        int status = ctx.statusCode();
        if (method.equals("GET") && status < 400 && !path.startsWith("/v1/") && !path.equals("/version")) {
            return;
        }
        sink.accept(line(method, path, status, RequestRecord.of(ctx), System.nanoTime()));
    }

    static String line(String method, String path, int status, RequestRecord r, long nowNanos) {
        StringBuilder sb = new StringBuilder();
        sb.append(method).append(' ').append(printable(path)).append(' ').append(status).append(' ')
                .append(seconds(nowNanos - r.startNanos));
        if (r.id != null) {
            sb.append(" id=").append(r.id);
        }
        if (r.promptTokens >= 0) {
            sb.append(" prompt_tokens=").append(r.promptTokens);
        }
        if (r.completionTokens >= 0) {
            sb.append(" completion_tokens=").append(r.completionTokens);
        }
        if (r.firstTokenNanos != 0) {
            sb.append(" ttft=").append(seconds(r.firstTokenNanos - r.startNanos));
        }
        return sb.toString();
    }

    private static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.3fs", nanos / 1e9);
    }

    /** A request path as it may go into a log line: printable ASCII only ('?' for the rest), 200 characters at most. */
    static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(s.length(), 200); i++) {
            char c = s.charAt(i);
            sb.append(c >= 0x21 && c < 0x7f ? c : '?');
        }
        return s.length() > 200 ? sb + "..." : sb.toString();
    }
}
