package io.tessera.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The reference outputs of the llama2.c implementation for stories260K (shared/models/golden). */
public final class GoldenCases {

    /** One golden case; {@code logits} is null when the case has no logits file. */
    public record Case(int index, String prompt, int[] promptTokens, int steps, int[] generated, String text,
            float[][] logits) {

        /** Prompt tokens followed by the generated ones: the tokens fed at positions 0.. (plus the last output). */
        public int[] allTokens() {
            int[] all = new int[promptTokens.length + generated.length];
            System.arraycopy(promptTokens, 0, all, 0, promptTokens.length);
            System.arraycopy(generated, 0, all, promptTokens.length, generated.length);
            return all;
        }
    }

    private GoldenCases() {
    }

    public static List<Case> load() throws IOException {
        Path file = TestModels.golden("stories260K-greedy.json");
        JsonNode root = new ObjectMapper().readTree(file.toFile());
        List<Case> cases = new ArrayList<>();
        int i = 0;
        for (JsonNode c : root.get("cases")) {
            float[][] logits = null;
            if (c.hasNonNull("logits_file")) {
                logits = readLogits(file.resolveSibling(c.get("logits_file").asText()),
                        c.get("logits_shape").get(0).asInt(), c.get("logits_shape").get(1).asInt());
            }
            cases.add(new Case(i++, c.get("prompt").asText(), ints(c.get("prompt_tokens")), c.get("steps").asInt(),
                    ints(c.get("generated_after_prompt")), c.get("stdout_text").asText(), logits));
        }
        return cases;
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    private static float[][] readLogits(Path file, int rows, int cols) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        float[][] out = new float[rows][cols];
        for (float[] row : out) {
            buf.asFloatBuffer().get(row);
            buf.position(buf.position() + cols * Float.BYTES);
        }
        return out;
    }
}
