using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Keys;
using Kassa.Core.Validation;
using Kassa.Engine.ApiKeys;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Accounts;

/// <summary>
/// Creates an account with one secret and one publishable key per mode. Used by
/// <c>kassa accounts create</c> and by the first start of a server. The raw keys exist only in
/// the returned value.
/// </summary>
public static class CreateAccount
{
    public sealed record Created(string AccountId, string TestSecretKey, string LiveSecretKey, string TestPublishableKey, string LivePublishableKey);

    /// <param name="testSecretKey">An operator-chosen test secret key (KASSA_BOOTSTRAP_KEY), or null for a random one.</param>
    /// <param name="onlyIfFirst">Create only when no account exists yet (several nodes may start at once).</param>
    public static async Task<Result<Created?>> Execute(IStoreSession session, DateTimeOffset now, string name, string? testSecretKey = null, bool onlyIfFirst = false)
    {
        if (Rules.Text(name, Rules.NameLengthMax, allowEmpty: false) is { } n) return KassaError.Validation("name", n);
        if (testSecretKey is not null && ApiKeyFormat.CheckBootstrapKey(testSecretKey) is { } k) return KassaError.Validation("KASSA_BOOTSTRAP_KEY", k);

        var accountId = Common.Ids.New(IdPrefixes.Account, now);
        if (onlyIfFirst && (await session.Accounts.AnyAsync() || !await session.Accounts.TryClaimFirstAccountAsync(accountId)))
            return (Created?)null;
        if (testSecretKey is not null && await session.ApiKeys.FindByHashAsync(ApiKeyFormat.Hash(testSecretKey)) is not null)
            return new KassaError(ErrorCodes.AlreadyExists, "That key already belongs to an account", "KASSA_BOOTSTRAP_KEY");

        await session.Accounts.InsertAsync(new AccountRecord(accountId, name, now));
        var testSecret = KeyMaker.Make(accountId, false, KeyKind.Secret, "Default test secret key", now, testSecretKey);
        var liveSecret = KeyMaker.Make(accountId, true, KeyKind.Secret, "Default live secret key", now);
        var testPublishable = KeyMaker.Make(accountId, false, KeyKind.Publishable, "Default test publishable key", now);
        var livePublishable = KeyMaker.Make(accountId, true, KeyKind.Publishable, "Default live publishable key", now);
        foreach (var (_, record) in new[] { testSecret, liveSecret, testPublishable, livePublishable })
            await session.ApiKeys.InsertAsync(record);
        var op = new OperationContext(new Tenant(accountId, false), Actor.System, Common.Ids.New(IdPrefixes.Request, now), now);
        await RecordAudit.Execute(session, op, "account.created", "account", accountId, ["name"]);
        return new Created(accountId, testSecret.Raw, liveSecret.Raw, testPublishable.Raw, livePublishable.Raw);
    }
}
