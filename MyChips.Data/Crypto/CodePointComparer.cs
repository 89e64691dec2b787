namespace MyChips.Data.Crypto;

/// <summary>
/// Orders strings by Unicode code point, as Python sorts <c>str</c>. Differs from ordinal UTF-16 order only when
/// U+E000–U+FFFF meets an astral character. Unpaired surrogates compare as their own code unit value, as in Python.
/// </summary>
internal sealed class CodePointComparer : IComparer<string>
{
    public static readonly CodePointComparer Instance = new();

    private CodePointComparer() { }

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
            return 0;
        if (x is null)
            return -1;
        if (y is null)
            return 1;

        int i = 0, j = 0;
        while (i < x.Length && j < y.Length)
        {
            int a = Next(x, ref i);
            int b = Next(y, ref j);
            if (a != b)
                return a < b ? -1 : 1;
        }
        return (x.Length - i).CompareTo(y.Length - j);
    }

    private static int Next(string s, ref int index)
    {
        char c = s[index++];
        if (char.IsHighSurrogate(c) && index < s.Length && char.IsLowSurrogate(s[index]))
            return char.ConvertToUtf32(c, s[index++]);
        return c;
    }
}
