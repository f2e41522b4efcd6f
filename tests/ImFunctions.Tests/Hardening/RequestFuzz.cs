using System.Collections;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using FsCheck;
using FsCheck.Fluent;
using ImFunctions.Api.Hosting;

namespace ImFunctions.Tests.Hardening;

/// <summary>One hostile request: the exact bytes, the Content-Type (null: none), and a printable form for failures.</summary>
public sealed record FuzzCase(byte[] Body, string? ContentType, string Shown)
{
    public override string ToString() => $"Content-Type: {ContentType ?? "(none)"}, body: {Shown}";
}

/// <summary>
/// Random request bodies for a method, built from its own field names (its request record's properties, by their
/// wire names) so every method in the table is fuzzed where it is most fragile: right names, wrong everything else.
/// </summary>
public static class RequestFuzz
{
    /// <summary>Stands for invalid UTF-8 bytes in generated text; replaced by one of <see cref="InvalidUtf8"/> when encoded.</summary>
    const char InvalidBytes = '\uFFFF';

    static readonly byte[][] InvalidUtf8 =
    [
        [0xFF, 0xFE, 0xC3, 0x28], [0xC3, 0x28], [0x80], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x82],
    ];

    /// <summary>Bodies that take a raw JSON value rather than a record name their fields here (loginWithJWT reads signedData itself).</summary>
    static readonly Dictionary<string, string[]> RawBodyFields = new() { ["loginWithJWT"] = ["signedData"] };

    static readonly string[] Numbers =
    [
        "0", "-0", "1", "-1", "0.5", "-0.0", "1e2", "1E+2", "1e309", "-1e309", "1e-400", "5e-324", "2147483647", "2147483648",
        "-2147483649", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551616",
        "123456789012345678901234567890", "1.7976931348623157e308", "100", "101", "500", "501",
    ];

    /// <summary>JSON string contents (already escaped): lone surrogates, control characters, injections, odd Unicode.</summary>
    static readonly string[] HostileStrings =
    [
        "\\ud800", "\\udc00https://example.com/a.png", "a\\udfffb", "\\ud800\\ud800", "\\udbff", "\\ud83d\\ude00", "\\u0000",
        "\\u001f", "x" + InvalidBytes + "y", InvalidBytes.ToString(), "https://" + InvalidBytes, "\u202eevil", "😀", "中文消息",
        "\\\"", "\\\\", "../../etc/passwd", "' OR 1=1 --", "<script>alert(1)</script>", "$where", "__proto__", " ", "\\n\\t",
        "NaN", "null", "undefined", "true", "-1", "1e309", "https://example.com/a.png", "http://insecure.example/a.png",
        "data:image/png;base64,AAAA", "single_", "group_", "text", "image", "video", "__UNI__TEST",
    ];

    static readonly string[] RawNotJson =
    [
        "{", "}", "{\"", "{\"a\":}", "{,}", "{}{}", "{} x", "NaN", "Infinity", "{'a':1}", "\uFEFF{}", "{\"a\":1,}", "//\n{}",
        "<xml/>", "\u0000", "[", "\"unterminated", "{\"a\":tru}", "{\"a\":01}", "{\"a\":.5}", "{\"a\":+1}", "nul", "a=1&b=2",
        "{\"a\":\"\\x41\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"tab\there\"}", "{" + InvalidBytes + "}",
    ];

    static readonly string[] ForeignKeys = ["__proto__", "constructor", "$where", "", "x", "\\ud800", "data", "errCode", "_id"];

    static readonly string?[] ContentTypes =
    [
        "application/json", "application/json; charset=utf-8", "application/json; charset=utf-16", "application/problem+json",
        "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "application/jsonx", null,
    ];

    /// <summary>The method's fields as clients name them: snake_case, or the record's own [JsonPropertyName].</summary>
    public static IReadOnlyList<(string Name, Type Type)> FieldsOf(ImMethod method) =>
        RawBodyFields.TryGetValue(method.Name, out var raw) ? raw.Select(n => (n, typeof(JsonElement))).ToList() : FieldsOf(method.RequestType);

    static IReadOnlyList<(string Name, Type Type)> FieldsOf(Type type) =>
        type == typeof(JsonElement) || type == typeof(string) || type.IsPrimitive
            ? []
            : type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.GetCustomAttribute<JsonIgnoreAttribute>() is null && p.GetIndexParameters().Length == 0)
                .Select(p => (p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name), p.PropertyType))
                .ToList();

    /// <summary>Bodies for <paramref name="method"/>; <paramref name="knownStrings"/> are values worth trying (ids that exist).</summary>
    public static Gen<FuzzCase> For(ImMethod method, IReadOnlyList<string> knownStrings)
    {
        var fields = FieldsOf(method);
        var strings = StringValue(knownStrings);
        var json = Gen.Frequency(
            (14, ObjectOf(fields, 2, strings)),
            (2, Gen.OneOf(Gen.Elements("[]", "null", "42", "-0", "1e309", "\"x\"", "true", "\"\\ud800\""), ObjectOf(fields, 1, strings).Select(o => "[" + o + "]"))),
            (2, Gen.Elements(RawNotJson)),
            (1, ObjectOf(fields, 1, strings).Zip(Gen.Choose(0, 1000), (o, cut) => o[..Math.Min(o.Length, cut % Math.Max(1, o.Length))])));
        var contentType = Gen.Frequency((12, Gen.Constant<string?>("application/json")), (1, Gen.Elements(ContentTypes)));
        return json.Zip(contentType).Zip(Gen.Elements(InvalidUtf8), (t, bad) => Encode(t.Item1, t.Item2, bad));
    }

    static FuzzCase Encode(string text, string? contentType, byte[] invalid)
    {
        var bytes = new List<byte>(text.Length + 16);
        var parts = text.Split(InvalidBytes);
        for (var i = 0; i < parts.Length; i++)
        {
            if (i > 0) bytes.AddRange(invalid);
            bytes.AddRange(Encoding.UTF8.GetBytes(parts[i]));
        }
        var shown = text.Replace(InvalidBytes.ToString(), $"<bytes {Convert.ToHexString(invalid)}>");
        return new FuzzCase(bytes.ToArray(), contentType, shown.Length > 400 ? shown[..400] + $"… ({shown.Length} chars)" : shown);
    }

    static Gen<string> ObjectOf(IReadOnlyList<(string Name, Type Type)> fields, int depth, Gen<string> strings)
    {
        var members = fields.Select(f => Gen.Frequency(
            (3, ValueOf(f.Type, depth, strings).Select(v => (string?)$"\"{f.Name}\":{v}")),
            (1, Gen.Constant<string?>(null))));
        var foreign = Gen.Frequency(
            (4, Gen.Constant<string?>(null)),
            (1, Gen.Elements(ForeignKeys).Zip(AnyValue(depth - 1, strings), (k, v) => (string?)$"\"{k}\":{v}")));
        return Gen.CollectToList(members.Append(foreign)).Select(parts => "{" + string.Join(",", parts.Where(p => p is not null)) + "}");
    }

    /// <summary>Mostly a value of the field's own type (to get past binding), often anything at all.</summary>
    static Gen<string> ValueOf(Type type, int depth, Gen<string> strings) =>
        Gen.Frequency((2, TypedValue(type, depth, strings)), (1, AnyValue(depth, strings)));

    static Gen<string> TypedValue(Type type, int depth, Gen<string> strings)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(string)) return strings;
        if (t == typeof(bool)) return Gen.Elements("true", "false");
        if (t.IsPrimitive || t == typeof(decimal)) return NumberValue;
        if (t.IsArray || (t.IsGenericType && typeof(IEnumerable).IsAssignableFrom(t)))
        {
            var element = t.IsArray ? t.GetElementType()! : t.GetGenericArguments()[0];
            return Gen.ListOf(TypedValue(element, depth - 1, strings)).Select(items => "[" + string.Join(",", items.Take(120)) + "]");
        }
        if (depth > 0 && FieldsOf(t) is { Count: > 0 } nested) return ObjectOf(nested, depth - 1, strings);
        return AnyValue(depth, strings);
    }

    static Gen<string> AnyValue(int depth, Gen<string> strings)
    {
        var scalar = Gen.Frequency((1, Gen.Elements("null", "true", "false")), (3, NumberValue), (4, strings));
        if (depth <= 0) return scalar;
        return Gen.Frequency(
            (6, scalar),
            (1, Gen.ListOf(AnyValue(depth - 1, strings)).Select(items => "[" + string.Join(",", items) + "]")),
            (1, Gen.ListOf(Gen.Elements(ForeignKeys).Zip(AnyValue(depth - 1, strings), (k, v) => $"\"{k}\":{v}"))
                .Select(members => "{" + string.Join(",", members) + "}")));
    }

    static readonly Gen<string> NumberValue = Gen.Frequency(
        (3, Gen.Elements(Numbers)),
        (2, Gen.Choose(-1000, 1000).Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture))),
        (1, Gen.Choose(int.MinValue, int.MaxValue).Zip(Gen.Choose(0, int.MaxValue), (hi, lo) => (((long)hi << 31) | (uint)lo).ToString(System.Globalization.CultureInfo.InvariantCulture))));

    static Gen<string> StringValue(IReadOnlyList<string> knownStrings)
    {
        var words = Gen.ListOf(Gen.Elements("abcdefghijklmnopqrstuvwxyz0123456789_-".ToCharArray())).Select(cs => new string(cs.ToArray()));
        return Gen.Frequency(
            (3, Gen.Elements(knownStrings.Select(s => JsonEncodedText.Encode(s).ToString()))),
            (3, words),
            (1, Gen.Elements(64, 65, 129, 1000, 9000, 70_000).Select(n => new string('x', n))),
            (3, Gen.Elements(HostileStrings)))
            .Select(s => "\"" + s + "\"");
    }
}
