package io.tessera.benchmarks.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Where the prompts of a serving benchmark come from: random ones of a workload mix, or a file. */
public interface PromptSource {

    /** The prompt of the {@code index}-th request; random draws come from {@code rnd}. */
    ServePrompt prompt(int index, Random rnd);

    /** A short description for the report and the JSON result. */
    String describe();

    /**
     * Random prompts of {@code mix}'s classes: token ids in [3, vocabSize) on completions (valid for
     * any vocabulary of at least that size), random words on chat, where the prompt is text.
     */
    static PromptSource random(WorkloadMix mix, int vocabSize, boolean chat) {
        if (vocabSize < 4) {
            throw new IllegalArgumentException("--vocab-size must be at least 4, got " + vocabSize);
        }
        return new PromptSource() {
            @Override
            public ServePrompt prompt(int index, Random rnd) {
                int cls = mix.pick(rnd);
                WorkloadMix.Entry e = mix.entries().get(cls);
                int in = WorkloadMix.draw(rnd, e.inputMin(), e.inputMax());
                int out = WorkloadMix.draw(rnd, e.outputMin(), e.outputMax());
                if (chat) {
                    StringBuilder sb = new StringBuilder();
                    for (int i = 0; i < in; i++) {
                        sb.append(i == 0 ? "" : " ").append(WORDS[rnd.nextInt(WORDS.length)]);
                    }
                    return new ServePrompt(sb.toString(), null, in, out, cls);
                }
                int[] ids = new int[in];
                for (int i = 0; i < in; i++) {
                    ids[i] = 3 + rnd.nextInt(vocabSize - 3);
                }
                return new ServePrompt(null, ids, in, out, cls);
            }

            @Override
            public String describe() {
                return "random";
            }
        };
    }

    /**
     * The prompts of a file, used in order and cycling: JSON lines with {@code "prompt"} (and an
     * optional {@code "output_len"}), or one plain-text prompt per line.
     */
    static PromptSource dataset(Path file, int defaultOutputLen) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<ServePrompt> list = new ArrayList<>();
        int lineNo = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            String text = line;
            int out = defaultOutputLen;
            if (line.stripLeading().startsWith("{")) {
                JsonNode node;
                try {
                    node = json.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new IllegalArgumentException("the dataset " + file + ", line " + lineNo
                            + ", is not a JSON object: " + e.getOriginalMessage());
                }
                text = node.path("prompt").asText();
                out = node.path("output_len").asInt(defaultOutputLen);
            }
            list.add(new ServePrompt(text, null, 0, out, -1));
        }
        if (list.isEmpty()) {
            throw new IllegalArgumentException("the dataset " + file + " has no prompt");
        }
        return new PromptSource() {
            @Override
            public ServePrompt prompt(int index, Random rnd) {
                return list.get(index % list.size());
            }

            @Override
            public String describe() {
                return file.toString();
            }
        };
    }

    /** The words of random chat prompts. */
    String[] WORDS = ("the a one little big dog cat house tree sun day night happy sad "
            + "ran saw played with friend mom park ball red blue green went found said time once upon there "
            + "was girl boy named lily tom they were very good bird sky water fish").split(" ");
}
