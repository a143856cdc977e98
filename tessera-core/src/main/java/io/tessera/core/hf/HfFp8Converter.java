package io.tessera.core.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.arch.Architectures;
import io.tessera.core.model.GgufModelWriter;
import io.tessera.core.model.Model;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * {@code convert --type FP8}: a checkpoint directory rewritten as an FP8 checkpoint directory
 * ({@link HfCheckpointWriter#writeFp8}), its tokenizer and generation files copied. GGUF has no
 * FP8 type, so this is how Tessera stores a model converted to FP8: a directory any FP8-aware
 * loader (vLLM, transformers) reads as well.
 */
public final class HfFp8Converter {

    /** The files beside the weights that travel with a converted checkpoint. */
    static final List<String> COPIED = List.of("tokenizer.json", "tokenizer.model", "tokenizer_config.json",
            "special_tokens_map.json", "generation_config.json", "chat_template.jinja", "chat_template.json");

    private HfFp8Converter() {
    }

    public static void convert(Path in, Path out, Fp8Scales scales) throws IOException {
        if (Files.exists(out) && Files.isSameFile(in, out)) {
            throw new IllegalArgumentException("the output directory is the input directory");
        }
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new IllegalArgumentException("the output " + out + " is a file; --type FP8 writes a directory");
        }
        String architecture = architecture(in);
        try (Model model = HfCheckpoint.load(in)) {
            if (architecture.endsWith("ForConditionalGeneration")) {
                // the language model alone is written: the family's text-only name
                architecture = Architectures.named(model.config().architecture()).huggingFaceNames().get(0);
            }
            HfCheckpointWriter.writeFp8(out, model.config(), model.tiedOutput(), scales, GgufModelWriter.of(model),
                    architecture);
        }
        copyCompanionFiles(in, out);
    }

    /** Copies the tokenizer, chat template and generation files of checkpoint directory in to out. */
    public static void copyCompanionFiles(Path in, Path out) throws IOException {
        for (String name : COPIED) {
            Path f = in.resolve(name);
            if (Files.isRegularFile(f)) {
                Files.copy(f, out.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** The first {@code architectures} entry of config.json (a Mistral checkpoint stays MistralForCausalLM). */
    private static String architecture(Path dir) throws IOException {
        JsonNode a = new ObjectMapper().readTree(dir.resolve(HfCheckpoint.CONFIG).toFile()).path("architectures");
        return a.path(0).asText();
    }
}
