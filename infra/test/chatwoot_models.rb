# frozen_string_literal: true

# Over ~300 lines: one small class per model the bootstrap touches, kept together because they
# reference one another the way Chatwoot's models do.
#
# TEST STAND-INS, NOT CHATWOOT. In-memory imitations of the Chatwoot v4.15.1 models that
# scripts/bootstrap.rb touches, with just the ActiveRecord surface it uses (find_by, where,
# find_or_initialize_by, create!, save!, changed?, …) and the validations that matter to it
# (password rules, webhook URL and events). They behave as Chatwoot v4.15.1 does where the
# bootstrap depends on it (verified against upstream source; the lists come from
# infra/facts/chatwoot-upstream.json, the same data the config validation uses):
#   - Account#locale= raises ArgumentError for anything but the 42 locale keys (Rails enum);
#   - passwords follow devise-secure_password: 6..128 characters, upper, lower, digit and one of
#     its 33 specials, and ANY other character is rejected, with a message quoting it;
#   - features are exactly config/features.yml's names; disable_features! returns false on a
#     validation failure instead of raising; feature_flags? answers like a feature method would.
#
# State survives between runs in the file named by FAKE_CHATWOOT_DB (Marshal), and every write is
# appended to FAKE_CHATWOOT_LOG as "create|update|destroy <Model> <id> [fields]".

require 'digest'
require 'json'
require 'securerandom'

CHATWOOT_FACTS = JSON.parse(File.read(File.join(__dir__, '..', 'facts', 'chatwoot-upstream.json')))

module ActiveRecord
  class RecordInvalid < StandardError
    attr_reader :record

    def initialize(record, message)
      @record = record
      super(message)
    end
  end

  # No rollback here: the stand-in only lets bootstrap.rb's transaction block run.
  class Base
    def self.transaction = yield
  end
end

module FakeDB
  class << self
    attr_reader :tables, :redis

    def load
      path = ENV.fetch('FAKE_CHATWOOT_DB')
      data = File.exist?(path) ? Marshal.load(File.binread(path)) : { tables: {}, redis: { 'CHATWOOT_INSTALLATION_ONBOARDING' => true } }
      @tables = data[:tables]
      @redis = data[:redis]
    end

    def save
      File.binwrite(ENV.fetch('FAKE_CHATWOOT_DB'), Marshal.dump({ tables: @tables, redis: @redis }))
    end

    def table(model)
      @tables[model] ||= []
    end

    def next_id(model)
      (table(model).map(&:id).max || 0) + 1
    end

    def log(line)
      File.open(ENV.fetch('FAKE_CHATWOOT_LOG'), 'a') { |f| f.puts(line) }
    end
  end
end

class FakeRelation
  include Enumerable

  def initialize(model, conditions = {})
    @model = model
    @conditions = conditions
  end

  def where(conditions) = FakeRelation.new(@model, @conditions.merge(conditions))
  def each(&) = to_a.each(&)
  def to_a = FakeDB.table(@model.name).select { |r| r.matches?(@conditions) }
  def find_by(conditions) = where(conditions).first
  def find_or_initialize_by(conditions) = find_by(conditions) || @model.new(@conditions.merge(conditions))
  def find_or_create_by!(conditions) = find_by(conditions) || @model.create!(@conditions.merge(conditions))
end

class FakeRecord
  attr_accessor :id

  class << self
    attr_reader :fields

    def columns(*names)
      @fields = names
      attr_accessor(*names)
    end

    def all = FakeRelation.new(self)
    def where(conditions) = all.where(conditions)
    def find_by(conditions) = all.find_by(conditions)
    def find_or_initialize_by(conditions) = all.find_or_initialize_by(conditions)
    def find_or_create_by!(conditions) = all.find_or_create_by!(conditions)
    def create!(attrs = {}) = new(attrs).tap(&:save!)

    # Test setup only: a row that is already in the database (an adopted one), with its own id.
    # Not logged as a write: the bootstrap did not make it.
    def import!(id, attrs)
      record = new(attrs)
      record.id = id
      record.instance_variable_set(:@persisted, true)
      record.instance_variable_set(:@snapshot, record.attributes)
      FakeDB.table(name) << record
      record
    end
  end

  def initialize(attrs = {})
    assign(attrs)
    @persisted = false
  end

  def assign(attrs)
    attrs.each { |k, v| public_send("#{k}=", v) }
  end

  def attributes = self.class.fields.to_h { |f| [f, deep_copy(public_send(f))] }
  def matches?(conditions) = conditions.all? { |k, v| public_send(k).to_s == v.to_s }
  def new_record? = !@persisted
  def persisted? = @persisted
  def changed? = changed_fields.any?
  def changed_fields = @persisted ? attributes.keys.reject { |k| attributes[k] == @snapshot[k] } : attributes.keys
  def validate!; end

  # ActiveModel::Errors, reduced to what bootstrap.rb reads.
  class Errors
    def initialize = (@list = [])
    def add(attribute, message) = @list << [attribute, message]
    def attribute_names = @list.map(&:first).uniq
    def full_messages = @list.map { |a, m| "#{a.to_s.capitalize} #{m}" }
    def empty? = @list.empty?
    def clear = @list.clear
  end

  def errors = (@errors ||= Errors.new)

  def valid?
    errors.clear
    validate!
    true
  rescue ActiveRecord::RecordInvalid
    false
  end

  def save
    save!
  rescue ActiveRecord::RecordInvalid
    false
  end

  def save!
    errors.clear
    validate!
    if @persisted
      fields = changed_fields
      FakeDB.log("update #{self.class.name} #{id} #{fields.join(',')}") unless fields.empty?
    else
      self.id = FakeDB.next_id(self.class.name)
      FakeDB.table(self.class.name) << self
      @persisted = true
      FakeDB.log("create #{self.class.name} #{id}")
      @snapshot = attributes
      after_create
    end
    @snapshot = attributes
    true
  end

  def update!(attrs)
    assign(attrs)
    save!
  end

  def destroy!
    FakeDB.table(self.class.name).delete(self)
    FakeDB.log("destroy #{self.class.name} #{id}")
  end

  def after_create; end

  private

  def deep_copy(value) = Marshal.load(Marshal.dump(value))

  def invalid!(message, attribute = message.split.first.downcase)
    errors.add(attribute.to_sym, message)
    raise ActiveRecord::RecordInvalid.new(self, "Validation failed: #{message}")
  end
end

module AccessTokenable
  def access_token = AccessToken.find_by(owner_type: self.class.name, owner_id: id)
  def after_create = AccessToken.create!(owner_type: self.class.name, owner_id: id, token: SecureRandom.alphanumeric(24))
end

class AccessToken < FakeRecord
  columns :owner_type, :owner_id, :token
end

class InstallationConfig < FakeRecord
  columns :name, :value, :locked
end

# lib/global_config_service.rb: the table wins when it holds a present value; otherwise the
# environment's value (or the default) is copied into the table on this first read, and from
# then on the table answers, whatever the environment says.
module GlobalConfigService
  # ActiveSupport's blank?: nil, false, whitespace-only strings and empty collections.
  def self.blank?(value)
    value.nil? || value == false || (value.respond_to?(:empty?) && (value.is_a?(String) ? value.strip.empty? : value.empty?))
  end

  def self.load(config_key, default_value)
    row = InstallationConfig.find_by(name: config_key)
    return row.value if row && !blank?(row.value)

    config_value = ENV[config_key] || default_value
    return if blank?(config_value)

    (row || InstallationConfig.create!(name: config_key, value: config_value, locked: false)).value
  end
end

class Redis
  module Alfred
    CHATWOOT_INSTALLATION_ONBOARDING = 'CHATWOOT_INSTALLATION_ONBOARDING'
    def self.delete(key)
      FakeDB.log("redis-delete #{key}") if FakeDB.redis.delete(key)
    end
  end
end

class User < FakeRecord
  include AccessTokenable
  columns :email, :name, :type, :encrypted_password, :confirmed_at
  attr_reader :password
  attr_accessor :password_confirmation

  SPECIALS = CHATWOOT_FACTS.dig('passwordSpecials', 'value')
  LENGTH = CHATWOOT_FACTS['passwordLength']

  def self.from_email(email) = find_by(email: email.downcase)
  def password=(value)
    @password = value
    self.encrypted_password = "sha256:#{Digest::SHA256.hexdigest(value)}"
  end

  def skip_confirmation! = (self.confirmed_at ||= Time.now.utc.to_s)
  def confirmed? = !confirmed_at.nil?
  def account_users = AccountUser.where(user_id: id)

  # Devise validatable + Chatwoot's secure_password rules (messages name rules, never values).
  def validate!
    invalid!("Name can't be blank") if name.to_s.strip.empty?
    invalid!('Email is invalid') unless email.to_s.match?(/\A[^@\s]+@[^@\s]+\z/)
    return unless @password

    invalid!("Password is too short (minimum is #{LENGTH['min']} characters)") if @password.length < LENGTH['min']
    invalid!("Password is too long (maximum is #{LENGTH['max']} characters)") if @password.length > LENGTH['max']
    # Like the gem: characters outside A-Z a-z 0-9 and its specials are "unknown", allowed 0 times,
    # and the message quotes them.
    unknown = @password.chars.reject { |c| c.match?(/[A-Za-z0-9]/) || SPECIALS.include?(c) }.uniq
    invalid!("Password contains invalid characters: #{unknown.join}") unless unknown.empty?
    invalid!('Password must contain uppercase, lowercase, digit and special characters') unless
      @password.match?(/[A-Z]/) && @password.match?(/[a-z]/) && @password.match?(/\d/) && @password.chars.any? { |c| SPECIALS.include?(c) }
    invalid!("Password confirmation doesn't match Password") if @password != password_confirmation
  end
end

class Account < FakeRecord
  columns :name, :locale, :custom_attributes, :enabled_features
  FEATURES = CHATWOOT_FACTS.dig('features', 'values').freeze
  LOCALES = CHATWOOT_FACTS.dig('locales', 'values').freeze
  DEFAULT_ENABLED = %w[help_center agent_bots campaigns macros automations integrations reports crm channel_website
                       captain_tasks assignment_v2 chatwoot_v4 inbound_emails].freeze

  def initialize(attrs = {})
    super
    self.custom_attributes ||= {}
    self.enabled_features ||= DEFAULT_ENABLED.dup
  end

  # Rails 7.1 enum assignment: an unknown key raises.
  def locale=(value)
    raise ArgumentError, "'#{value}' is not a valid locale" unless value.nil? || LOCALES.include?(value.to_s)

    @locale = value
  end

  # Tests set FAKE_ACCOUNT_INVALID to make every save of an existing account fail validation.
  def validate!
    invalid!("Name can't be blank") if name.to_s.strip.empty?
    invalid!('Limits are invalid', 'limits') if persisted? && ENV['FAKE_ACCOUNT_INVALID']
  end

  def inboxes = Inbox.where(account_id: id)
  def webhooks = Webhook.where(account_id: id)
  def feature_enabled?(name) = enabled_features.include?(name.to_s)
  def all_features = FEATURES.to_h { |f| [f, feature_enabled?(f)] }
  def respond_to_missing?(method, include_private = false) = feature_method?(method) || super

  def method_missing(method, *args)
    return feature_enabled?(method.to_s.delete_prefix('feature_').delete_suffix('?')) if feature_method?(method)

    super
  end

  # Featurable: sets the flags and calls save, which returns false when validation fails.
  def disable_features!(*names)
    self.enabled_features = enabled_features - names.map(&:to_s)
    save
  end

  # Upgrade migrations do this for every existing account (e.g. captain_tasks in v4.11).
  def enable_features!(*names)
    self.enabled_features = (enabled_features + names.map(&:to_s)).uniq
    save
  end

  private

  # FlagShihTzu answers feature_<name>? for every flag, and "feature_flags?" for the column itself.
  def feature_method?(method)
    name = method.to_s[/\Afeature_(\w+)\?\z/, 1]
    !name.nil? && (FEATURES.include?(name) || name == 'flags')
  end
end

class AccountUser < FakeRecord
  columns :account_id, :user_id, :role
  def account = Account.find_by(id: account_id)
  def role=(value)
    @role = value.to_s
  end
end

module Channel
  class Api < FakeRecord
    columns :account_id, :webhook_url, :hmac_mandatory, :additional_attributes, :identifier
    def after_create = update!(identifier: SecureRandom.alphanumeric(24))
  end
end

class Inbox < FakeRecord
  columns :account_id, :name, :channel_type, :channel_id

  def channel=(channel)
    self.channel_type = channel.class.name
    self.channel_id = channel.id
  end

  def channel = Channel::Api.find_by(id: channel_id)
  def validate! = (invalid!("Name can't be blank") if name.to_s.strip.empty?)
end

class Webhook < FakeRecord
  columns :account_id, :url, :name, :webhook_type, :subscriptions, :secret
  ALLOWED_WEBHOOK_EVENTS = %w[conversation_status_changed conversation_updated conversation_created contact_created
                              contact_updated message_created message_updated webwidget_triggered inbox_created
                              inbox_updated conversation_typing_on conversation_typing_off].freeze

  def validate!
    invalid!('Url is invalid') unless url.to_s.match?(%r{\Ahttps?://\S+\z})
    invalid!('Subscriptions Invalid events') unless subscriptions.is_a?(Array) && !subscriptions.empty? &&
                                                    (subscriptions - ALLOWED_WEBHOOK_EVENTS).empty?
  end
end

class PlatformApp < FakeRecord
  include AccessTokenable
  columns :name
end

class PlatformAppPermissible < FakeRecord
  columns :platform_app_id, :permissible_type, :permissible_id

  def self.find_or_create_by!(platform_app:, permissible:)
    attrs = { platform_app_id: platform_app.id, permissible_type: permissible.class.name, permissible_id: permissible.id }
    find_by(attrs) || create!(attrs)
  end
end

FakeDB.load
at_exit { FakeDB.save }
