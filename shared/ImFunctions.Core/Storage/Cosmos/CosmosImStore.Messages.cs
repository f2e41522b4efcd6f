using System.Net;
using ImFunctions.Core.Domain;
using Microsoft.Azure.Cosmos;

namespace ImFunctions.Core.Storage.Cosmos;

/// <summary>
/// Revoke, edit and search on Cosmos DB. A message is changed by an ETag-guarded replace. Search is what one partition
/// offers: a query per conversation (the partition key) that scans its messages' lower-cased <c>text</c> with CONTAINS;
/// the caller bounds how many conversations one search touches (docs/cosmos.md has the RU arithmetic).
/// </summary>
public sealed partial class CosmosImStore : IMessageLifecycleStore, IMessageSearchStore
{
    /// <summary>The lower-cased searchable text every message document carries (not indexed: CONTAINS scans anyway).</summary>
    internal const string SearchTextField = "text";

    /// <summary>Conversations searched at once: enough to hide latency, few enough not to trip the account's RU/s.</summary>
    const int SearchParallelism = 8;

    public async Task<Message?> UpdateMessageAsync(string conversationId, string messageId, Func<Message?, Message?> apply,
        CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxRowAttempts; attempt++)
        {
            var (stored, etag) = await ReadAsync<Stored<Message>>(messages, messageId, conversationId, ct);
            var next = apply(stored?.Value);
            if (next is null || stored is null) return stored?.Value;
            var written = await WriteAsync(messages, () => messages.ReplaceItemAsync(new Stored<Message>(messageId, next), messageId,
                new PartitionKey(conversationId), new ItemRequestOptions { IfMatchEtag = etag }, ct), ct, HttpStatusCode.PreconditionFailed);
            if (written.Response is not null) return next;
        }
        throw new DependencyUnavailableException("Cosmos DB (message contention)");
    }

    public async Task<IReadOnlyList<Message>> SearchMessagesAsync(IReadOnlyList<SearchScope> scopes, string keyword, long beforeTime,
        int limit, CancellationToken ct)
    {
        if (scopes.Count == 0 || keyword.Length == 0) return [];
        using var turns = new SemaphoreSlim(SearchParallelism);
        var pages = await Task.WhenAll(scopes.Select(async scope =>
        {
            await turns.WaitAsync(ct);
            try
            {
                // The keyword is a parameter compared with CONTAINS: literal text, never a pattern.
                var page = await QueryAsync<Stored<Message>>(messages, scope.ConversationId, limit,
                    $"SELECT TOP @limit * FROM c WHERE c.conversation_id = @pk AND c.seq >= @min AND c.seq <= @max " +
                    $"AND c.create_time < @before AND IS_STRING(c.{SearchTextField}) AND CONTAINS(c.{SearchTextField}, @kw) " +
                    "ORDER BY c.seq DESC", ct,
                    ("@limit", limit), ("@min", scope.MinSeq), ("@max", scope.MaxSeq), ("@before", beforeTime), ("@kw", keyword));
                return page.Select(s => s.Value);
            }
            finally { turns.Release(); }
        }));
        return pages.SelectMany(p => p).Where(m => !m.IsRevoke)
            .OrderByDescending(m => m.CreateTime).ThenBy(m => m.ConversationId, StringComparer.Ordinal).ThenByDescending(m => m.Seq)
            .Take(limit).ToList();
    }
}
