using Kassa.Core.Errors;
using Kassa.Core.Keys;
using Kassa.Core.Validation;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;

namespace Kassa.Engine.ApiKeys;

/// <summary><c>POST /v1/api_keys</c>: a new key in the caller's account and mode; the raw key is shown once.</summary>
public static class CreateApiKey
{
    public sealed record Request(string? Name, string? Type);

    public static async Task<Result<CreatedApiKeyResource>> Execute(IStoreSession session, OperationContext op, Request request)
    {
        var errors = new List<FieldError>();
        if (request.Name is null) return KassaError.Missing("name");
        if (Rules.Text(request.Name, Rules.NameLengthMax, allowEmpty: false) is { } n) errors.Add(new FieldError("name", n));
        KeyKind? kind = request.Type switch
        {
            "secret" => KeyKind.Secret,
            "publishable" => KeyKind.Publishable,
            _ => null,
        };
        if (request.Type is null) return KassaError.Missing("type");
        if (kind is null) errors.Add(new FieldError("type", "must be secret or publishable"));
        if (errors.Count > 0) return KassaError.Validation(errors);

        var (raw, record) = KeyMaker.Make(op.Tenant.AccountId, op.Tenant.Livemode, kind!.Value, request.Name, op.Now);
        await session.ApiKeys.InsertAsync(record);
        await RecordAudit.Execute(session, op, "api_key.created", "api_key", record.Id, ["name", "type"]);
        return new CreatedApiKeyResource(record.Id, record.Name, record.Type, record.Masked, raw, record.Livemode, record.CreatedAt);
    }
}
