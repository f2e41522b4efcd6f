using System.Text.Json;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage;

namespace ImFunctions.Core.Accounts;

/// <summary>
/// A section of exportMyData that another feature owns (friends, groups and roles, blocks, ...): it writes one
/// property of the export's data object, paging through its store as it goes.
/// </summary>
public interface IAccountExportSection
{
    /// <summary>The property name in the export (snake_case, like every wire name).</summary>
    string Name { get; }
    /// <summary>Writes the property's value (the name is written already); flush after each page.</summary>
    Task WriteAsync(Utf8JsonWriter json, User user, CancellationToken ct);
}

/// <summary>
/// exportMyData: everything the user may see of their own data, as one JSON object written while the store is paged
/// through, so a large account never sits in memory whole.
/// </summary>
public sealed class AccountExport(IImStore store, IAccountStore accounts, IEnumerable<IAccountExportSection> sections, TimeProvider clock)
{
    const int PageSize = 100;

    public async Task WriteAsync(Utf8JsonWriter json, User user, CancellationToken ct)
    {
        json.WriteStartObject();
        json.WriteNumber("exported_at", clock.GetUtcNow().ToUnixTimeMilliseconds());
        json.WritePropertyName("profile");
        JsonSerializer.Serialize(json, new OwnProfile(user.Id, user.Nickname, user.AvatarFile, user.Gender, user.Mobile, user.Email,
            user.Role, user.RegisterDate, user.UpdateTime), ImJson.Options);
        json.WriteStartObject("ext_uid_binding");
        json.WriteString("ext_uid", user.ExtUid);
        json.WriteString("uid", user.Id);
        json.WriteEndObject();

        // Rows are written whole: whatever settings the conversations feature keeps on them (pinned, mute, ...) come along.
        var conversationIds = new List<string>();
        json.WriteStartArray("conversations");
        for (var skip = 0; ; skip += PageSize)
        {
            var rows = await store.ListConversationsAsync(user.Id, new ConversationPage(PageSize, skip), ct);
            foreach (var row in rows)
            {
                JsonSerializer.Serialize(json, row, ImJson.Options);
                conversationIds.Add(row.Id);
            }
            await json.FlushAsync(ct);
            if (rows.Count < PageSize) break;
        }
        json.WriteEndArray();

        foreach (var section in sections)
        {
            json.WritePropertyName(section.Name);
            await section.WriteAsync(json, user, ct);
            await json.FlushAsync(ct);
        }

        json.WriteStartArray("messages_sent");
        foreach (var conversationId in conversationIds)
            for (long after = 0; ;)
            {
                var page = await accounts.ReadMessagesSentAsync(conversationId, user.Id, after, PageSize, ct);
                foreach (var message in page) JsonSerializer.Serialize(json, message, ImJson.Options);
                await json.FlushAsync(ct);
                if (page.Count < PageSize) break;
                after = page[^1].Seq;
            }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>The user's own profile: contact details included (they are the user's), token internals not.</summary>
    sealed record OwnProfile(
        [property: System.Text.Json.Serialization.JsonPropertyName("_id")] string Id, string? Nickname, AvatarFile? AvatarFile,
        int? Gender, string? Mobile, string? Email, string[] Role, long RegisterDate, long UpdateTime);
}
