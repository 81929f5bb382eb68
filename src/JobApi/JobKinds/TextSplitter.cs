namespace JobApi.JobKinds;

/// <summary>Cuts a list of documents into a given number of pieces of about equal length, only where no word
/// (run of <see cref="char.IsLetterOrDigit(char)"/>) and no surrogate pair is split. Document boundaries
/// always separate words, so a document's parts stay separate strings.</summary>
internal static class TextSplitter
{
    public static List<string[]> Split(IReadOnlyList<string> documents, int pieces)
    {
        long total = 0;
        foreach (var d in documents) total += d.Length;
        var result = new List<string[]>(pieces);
        int doc = 0, pos = 0;
        long consumed = 0;
        var texts = new List<string>();
        for (int k = 0; k < pieces; k++)
        {
            long idealEnd = k == pieces - 1 ? total : total * (k + 1) / pieces;
            while (consumed < idealEnd && doc < documents.Count)
            {
                var d = documents[doc];
                long need = idealEnd - consumed;
                if (need >= d.Length - pos)
                {
                    if (d.Length > pos) texts.Add(pos == 0 ? d : d[pos..]);
                    consumed += d.Length - pos;
                    doc++;
                    pos = 0;
                    continue;
                }
                int cut = NextCut(d, pos + (int)need);
                texts.Add(d[pos..cut]);
                consumed += cut - pos;
                pos = cut;
                if (cut == d.Length) { doc++; pos = 0; }
                break;
            }
            result.Add([.. texts]);
            texts.Clear();
        }
        return result;
    }

    private static int NextCut(string text, int at)
    {
        while (at < text.Length && !IsCut(text, at)) at++;
        return at;
    }

    /// <summary>Whether text may be cut between <c>text[at - 1]</c> and <c>text[at]</c>.</summary>
    private static bool IsCut(string text, int at) =>
        !(char.IsLetterOrDigit(text[at - 1]) && char.IsLetterOrDigit(text[at]))
        && !(char.IsHighSurrogate(text[at - 1]) && char.IsLowSurrogate(text[at]));
}
