using ImFunctions.Core.Storage;
using Microsoft.Extensions.Caching.Memory;

namespace ImFunctions.Core.Domain;

/// <summary>
/// Users by uid, cached briefly: every request needs its caller's token version and most sends need a
/// profile, and neither may cost a store read each time. Changes made here invalidate this instance's cache
/// at once; other instances see them within <see cref="CacheFor"/>.
/// </summary>
public sealed class UserDirectory(IImStore store, IMemoryCache cache)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);

    public async Task<User?> GetAsync(string uid, CancellationToken ct)
    {
        if (cache.TryGetValue(Key(uid), out User? user)) return user;
        user = await store.GetUserAsync(uid, ct);
        if (user is not null) Remember(user);
        return user;
    }

    public async Task<IReadOnlyDictionary<string, User>> GetManyAsync(IEnumerable<string> uids, CancellationToken ct)
    {
        var found = new Dictionary<string, User>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var uid in uids.Distinct(StringComparer.Ordinal))
        {
            if (cache.TryGetValue(Key(uid), out User? user) && user is not null) found[uid] = user;
            else missing.Add(uid);
        }
        if (missing.Count > 0)
            foreach (var user in await store.GetUsersAsync(missing, ct))
            {
                Remember(user);
                found[user.Id] = user;
            }
        return found;
    }

    public async Task SaveAsync(User user, CancellationToken ct)
    {
        await store.SaveUserAsync(user, ct);
        Remember(user);
    }

    void Remember(User user) =>
        cache.Set(Key(user.Id), user, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = CacheFor, Size = 1 });

    static string Key(string uid) => "user:" + uid;
}
