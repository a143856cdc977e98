package io.tessera.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The test oracle for chat templates: Python's Jinja2 in the environment Hugging Face's
 * {@code apply_chat_template} builds ({@code src/test/python/render_chat_templates.py}). A test
 * using it is skipped, saying why, when python3 or its jinja2 module is missing.
 */
final class Jinja2Oracle {
    private static final Path SCRIPT = Path.of("src", "test", "python", "render_chat_templates.py");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One rendering to ask for. */
    record Case(String template, List<Map<String, Object>> messages, boolean addGenerationPrompt,
            boolean continueFinalMessage, Map<String, Object> variables) {
    }

    /** What Jinja2 made of a case: the text, or the error it raised (then text is null). */
    record Result(String text, String error) {
    }

    private Jinja2Oracle() {
    }

    /** Renders all cases in one Python process. */
    static List<Result> render(List<Case> cases) throws IOException, InterruptedException {
        requireJinja2();
        ObjectNode request = JSON.createObjectNode();
        ArrayNode array = request.putArray("cases");
        for (Case c : cases) {
            ObjectNode o = array.addObject();
            o.put("template", c.template());
            o.set("messages", JSON.valueToTree(c.messages()));
            o.put("add_generation_prompt", c.addGenerationPrompt());
            o.put("continue_final_message", c.continueFinalMessage());
            o.set("variables", JSON.valueToTree(c.variables()));
        }
        Path in = Files.createTempFile("jinja2-oracle", ".json");
        try {
            Files.writeString(in, JSON.writeValueAsString(request));
            String out = run(List.of("python3", SCRIPT.toString()), in);
            JsonNode results = JSON.readTree(out);
            List<Result> list = new ArrayList<>();
            for (JsonNode r : results) {
                list.add(r.has("text") ? new Result(r.get("text").asText(), null) : new Result(null,
                        r.get("error").asText()));
            }
            if (list.size() != cases.size()) {
                throw new IOException("the oracle answered " + list.size() + " of " + cases.size() + " cases");
            }
            return list;
        } finally {
            Files.deleteIfExists(in);
        }
    }

    /** Why python3 with jinja2 cannot be used, once known; empty when it can. */
    private static volatile String unavailable;

    private static void requireJinja2() throws InterruptedException {
        if (unavailable == null) {
            try {
                run(List.of("python3", "-c", "import jinja2"), null);
                unavailable = "";
            } catch (IOException e) {
                unavailable = e.getMessage();
            }
        }
        if (!unavailable.isEmpty()) {
            Assumptions.abort("the Jinja2 oracle needs python3 with the jinja2 module (Debian: python3-jinja2): "
                    + unavailable);
        }
    }

    private static String run(List<String> command, Path stdin) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(false);
        if (stdin != null) {
            pb.redirectInput(stdin.toFile());
        }
        Path err = Files.createTempFile("jinja2-oracle", ".err");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        byte[] out;
        try {
            out = p.getInputStream().readAllBytes();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish in 120 s");
            }
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " failed (" + p.exitValue() + "): "
                        + Files.readString(err).strip());
            }
        } finally {
            Files.deleteIfExists(err);
        }
        return new String(out, StandardCharsets.UTF_8);
    }
}
