using Kassa.Core.Errors;
using Kassa.Core.Validation;

namespace Kassa.Core.Tests;

public class RulesTests
{
    [Theory]
    [InlineData("user_123", true)]
    [InlineData("a", true)]
    [InlineData("ada@example.com", true)]
    [InlineData("org:42.user-7", true)]
    [InlineData("", false)]
    [InlineData("has space", false)]
    [InlineData("slash/", false)]
    [InlineData("percent%", false)]
    [InlineData("é", false)]
    public void Customer_ids(string id, bool ok) => Assert.Equal(ok, Rules.CustomerId(id) is null);

    [Fact]
    public void Customer_id_length_bound_is_128()
    {
        Assert.Null(Rules.CustomerId(new string('a', 128)));
        Assert.Equal("must be at most 128 characters", Rules.CustomerId(new string('a', 129)));
    }

    [Theory]
    [InlineData("api_calls", true)]
    [InlineData("pro-2", true)]
    [InlineData("Pro", false)]
    [InlineData("a.b", false)]
    [InlineData("", false)]
    public void Slugs(string id, bool ok) => Assert.Equal(ok, Rules.Slug(id) is null);

    [Fact]
    public void Slug_length_bound_is_64()
    {
        Assert.Null(Rules.Slug(new string('a', 64)));
        Assert.NotNull(Rules.Slug(new string('a', 65)));
    }

    [Theory]
    [InlineData("ada@example.com", true)]
    [InlineData("ü@ë.com", true)]
    [InlineData("a@b", true)]
    [InlineData("@b", false)]
    [InlineData("a@", false)]
    [InlineData("a@@b", false)]
    [InlineData("a b@c", false)]
    [InlineData("a\n@b", false)]
    [InlineData("", false)]
    public void Emails(string email, bool ok) => Assert.Equal(ok, Rules.Email(email) is null);

    [Theory]
    [InlineData("plain", true)]
    [InlineData("emoji 🚀", true)]
    [InlineData("nul\0", false)]
    public void Storable_text(string text, bool ok) => Assert.Equal(ok, Rules.IsStorable(text));

    // Not a theory: test-case serialisation would replace lone surrogates with U+FFFD.
    [Fact]
    public void Unpaired_surrogates_are_not_storable()
    {
        Assert.False(Rules.IsStorable("lone \ud800 high"));
        Assert.False(Rules.IsStorable("lone \udc00 low"));
        Assert.False(Rules.IsStorable("\ud83d"));
        Assert.False(Rules.IsStorable("\udc00\ud800"));
        Assert.True(Rules.IsStorable("\ud83d\ude80"));
    }

    [Fact]
    public void Metadata_limits_are_50_keys_40_character_keys_500_character_values()
    {
        var errors = new List<FieldError>();
        Rules.Metadata(Enumerable.Range(0, 50).ToDictionary(i => i.ToString("D40"), _ => new string('v', 500)), errors);
        Assert.Empty(errors);
        Rules.Metadata(Enumerable.Range(0, 51).ToDictionary(i => i.ToString(), _ => "v"), errors);
        Assert.Equal([new FieldError("metadata", "may have at most 50 keys")], errors);
        errors.Clear();
        Rules.Metadata(new Dictionary<string, string> { [new string('k', 41)] = "v", ["ok"] = new string('v', 501), [""] = "v" }, errors);
        Assert.Equal(3, errors.Count);
        Assert.Contains(new FieldError("metadata.ok", "values must be at most 500 characters"), errors);
    }

    [Theory]
    [InlineData("k", true)]
    [InlineData("order-42/retry:1", true)]
    [InlineData("", false)]
    [InlineData("tab\there", false)]
    [InlineData("ключ", false)]
    public void Idempotency_keys(string key, bool ok) => Assert.Equal(ok, Rules.IdempotencyKey(key) is null);

    [Fact]
    public void Idempotency_key_length_bound_is_255()
    {
        Assert.Null(Rules.IdempotencyKey(new string('k', 255)));
        Assert.NotNull(Rules.IdempotencyKey(new string('k', 256)));
    }
}
