package io.tessera.core.model;

import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Recognises a model argument that names a Hugging Face hub repository ({@code org/name}) rather
 * than a local path, so that a user who types one learns that nothing is downloaded instead of
 * reading "file not found".
 */
final class HubModelId {

    /** The message for such an id that is not also a local path. */
    static final String NOT_DOWNLOADED = "looks like a Hugging Face model id, but Tessera does not download "
            + "models; give a local checkpoint directory (config.json, *.safetensors, tokenizer.json) or a GGUF file, "
            + "e.g. after `huggingface-cli download ORG/NAME --local-dir DIR`";

    /** Hub ids: an organisation and a repository name of letters, digits, '-', '_' and '.', one slash. */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*");

    private HubModelId() {
    }

    static boolean looksLikeOne(Path path) {
        String s = path.toString();
        return !path.isAbsolute() && ID.matcher(s).matches() && !s.endsWith(".gguf") && !s.endsWith(".bin")
                && !s.startsWith("..") && !s.startsWith("./");
    }
}
