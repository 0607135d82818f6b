import type { TargetColumn } from '@datalinx/contracts';

/** A foreign key a template intends: its `columns` reference `toColumns` of the table made from template `toTemplate`. */
export interface TemplateRelationship {
  columns: string[];
  toTemplate: string;
  toColumns: string[];
}

/** An editable starting point for a target table: copied by `createTargetTable(fromTemplate:)`. */
export interface TargetTemplate {
  /** Also the default name of the table made from it. */
  name: string;
  label: string;
  description: string;
  columns: TargetColumn[];
  relationships: TemplateRelationship[];
}

const col = (name: string, dataType: string, o: { nullable?: boolean; canonicalType?: string; pk?: boolean } = {}, description = ''): TargetColumn => ({
  name,
  dataType,
  nullable: o.pk ? false : (o.nullable ?? true),
  description,
  canonicalType: o.canonicalType ?? null,
  primaryKey: o.pk ?? false,
});
const id = (description: string) => col('id', 'text', { pk: true }, description);
const ts = (name: string, description: string, nullable = true) => col(name, 'timestamptz', { nullable, canonicalType: 'timestamp' }, description);
const money = (name: string, description: string, nullable = true) => col(name, 'numeric(18,2)', { nullable, canonicalType: 'money_amount' }, description);
const currency = (description = 'ISO 4217 currency code.') => col('currency', 'varchar(3)', { canonicalType: 'iso_currency' }, description);
const fk = (columns: string[], toTemplate: string, toColumns = ['id']): TemplateRelationship => ({ columns, toTemplate, toColumns });

/**
 * The templates, in the order pickers show them. Canonical types are built-in ones only (a test
 * checks each against BUILT_IN_CANONICAL_TYPES); relationships name other templates, and are
 * created when a table made from the other template is in the workspace.
 */
export const TARGET_TEMPLATES: readonly TargetTemplate[] = [
  {
    name: 'customers',
    label: 'Customers',
    description: 'People or companies that buy from you, one row per customer.',
    columns: [
      id('Customer identifier from the system of record.'),
      col('email', 'text', { canonicalType: 'email' }, 'Primary e-mail address, lower-cased.'),
      col('first_name', 'text', { canonicalType: 'first_name' }, 'Given name.'),
      col('last_name', 'text', { canonicalType: 'last_name' }, 'Family name.'),
      col('phone', 'text', { canonicalType: 'phone_e164' }, 'Phone number in E.164 form.'),
      col('country', 'varchar(2)', { canonicalType: 'iso_country' }, 'ISO 3166-1 alpha-2 country code.'),
      col('postal_code', 'text', { canonicalType: 'postal_code' }, 'Postal code of the main address.'),
      ts('created_at', 'When the customer was created.', false),
      ts('updated_at', 'When the customer last changed.'),
    ],
    relationships: [],
  },
  {
    name: 'products',
    label: 'Products',
    description: 'What you sell: one row per product or variant (SKU).',
    columns: [
      id('Product identifier.'),
      col('sku', 'text', { canonicalType: 'sku' }, 'Stock keeping unit.'),
      col('name', 'text', { nullable: false }, 'Product name as shown to customers.'),
      col('category', 'text', {}, 'Product category.'),
      money('price', 'List price.'),
      currency('Currency of the list price (ISO 4217).'),
      col('active', 'boolean', { nullable: false, canonicalType: 'boolean' }, 'Whether the product is on sale.'),
      col('url', 'text', { canonicalType: 'url' }, 'Product page.'),
      ts('created_at', 'When the product was created.'),
    ],
    relationships: [],
  },
  {
    name: 'orders',
    label: 'Orders',
    description: 'Purchases by customers, one row per order.',
    columns: [
      id('Order identifier.'),
      col('customer_id', 'text', { nullable: false }, 'The customer who placed the order.'),
      col('status', 'text', { nullable: false }, 'Order status (e.g. pending, paid, shipped, cancelled).'),
      money('total_amount', 'Order total including tax.'),
      currency(),
      col('shipping_country', 'varchar(2)', { canonicalType: 'iso_country' }, 'ISO 3166-1 alpha-2 country the order ships to.'),
      ts('ordered_at', 'When the order was placed.', false),
      ts('updated_at', 'When the order last changed.'),
    ],
    relationships: [fk(['customer_id'], 'customers')],
  },
  {
    name: 'order_lines',
    label: 'Order lines',
    description: 'The items of each order, one row per line.',
    columns: [
      id('Order line identifier.'),
      col('order_id', 'text', { nullable: false }, 'The order this line belongs to.'),
      col('product_id', 'text', {}, 'The product ordered.'),
      col('quantity', 'integer', { nullable: false, canonicalType: 'positive_integer' }, 'Units ordered.'),
      money('unit_price', 'Price of one unit.'),
      money('line_amount', 'Quantity × unit price, after line discounts.'),
      currency(),
    ],
    relationships: [fk(['order_id'], 'orders'), fk(['product_id'], 'products')],
  },
  {
    name: 'invoices',
    label: 'Invoices',
    description: 'Invoices issued to customers.',
    columns: [
      id('Invoice identifier.'),
      col('invoice_number', 'text', { nullable: false }, 'Number printed on the invoice.'),
      col('customer_id', 'text', { nullable: false }, 'The customer invoiced.'),
      col('order_id', 'text', {}, 'The order invoiced, when there is one.'),
      col('status', 'text', { nullable: false }, 'Invoice status (e.g. draft, open, paid, void).'),
      money('amount_due', 'Amount to be paid.', false),
      currency(),
      col('issued_on', 'date', { nullable: false, canonicalType: 'date' }, 'Issue date.'),
      col('due_on', 'date', { canonicalType: 'date' }, 'Due date.'),
    ],
    relationships: [fk(['customer_id'], 'customers'), fk(['order_id'], 'orders')],
  },
  {
    name: 'payments',
    label: 'Payments (transactions)',
    description: 'Money movements: payments, refunds and other transactions.',
    columns: [
      id('Transaction identifier from the payment provider.'),
      col('customer_id', 'text', {}, 'The paying customer.'),
      col('invoice_id', 'text', {}, 'The invoice paid, when there is one.'),
      col('kind', 'text', { nullable: false }, 'payment, refund, chargeback, …'),
      money('amount', 'Amount of the transaction (negative for refunds).', false),
      currency(),
      col('status', 'text', { nullable: false }, 'succeeded, failed, pending, …'),
      col('method', 'text', {}, 'Card, bank transfer, wallet, …'),
      ts('occurred_at', 'When the transaction happened.', false),
    ],
    relationships: [fk(['customer_id'], 'customers'), fk(['invoice_id'], 'invoices')],
  },
  {
    name: 'events',
    label: 'Events',
    description: 'Product or web analytics events, one row per event.',
    columns: [
      col('id', 'uuid', { pk: true, canonicalType: 'uuid' }, 'Event identifier.'),
      col('customer_id', 'text', {}, 'The customer, when known.'),
      col('anonymous_id', 'text', {}, 'Device or cookie identifier before sign-in.'),
      col('name', 'text', { nullable: false }, 'Event name (e.g. page_viewed, signed_up).'),
      col('page_url', 'text', { canonicalType: 'url' }, 'Page the event happened on.'),
      col('ip_address', 'text', { canonicalType: 'ipv4' }, 'Client IPv4 address.'),
      col('properties', 'jsonb', {}, 'Event properties.'),
      ts('occurred_at', 'When the event happened.', false),
    ],
    relationships: [fk(['customer_id'], 'customers')],
  },
  {
    name: 'campaigns',
    label: 'Campaigns',
    description: 'Marketing campaigns and their budgets.',
    columns: [
      id('Campaign identifier.'),
      col('name', 'text', { nullable: false }, 'Campaign name.'),
      col('channel', 'text', {}, 'email, paid_search, social, …'),
      col('landing_page_url', 'text', { canonicalType: 'url' }, 'Where the campaign sends people.'),
      money('budget', 'Planned spend.'),
      currency(),
      col('starts_on', 'date', { canonicalType: 'date' }, 'First day.'),
      col('ends_on', 'date', { canonicalType: 'date' }, 'Last day.'),
    ],
    relationships: [],
  },
  {
    name: 'subscriptions',
    label: 'Subscriptions',
    description: 'Recurring plans customers are subscribed to.',
    columns: [
      id('Subscription identifier.'),
      col('customer_id', 'text', { nullable: false }, 'The subscribed customer.'),
      col('product_id', 'text', {}, 'The plan or product.'),
      col('status', 'text', { nullable: false }, 'trialing, active, past_due, cancelled, …'),
      money('recurring_amount', 'Amount charged each period.'),
      currency(),
      col('billing_interval', 'text', {}, 'month, year, …'),
      ts('started_at', 'When the subscription started.', false),
      ts('cancelled_at', 'When it was cancelled, if it was.'),
    ],
    relationships: [fk(['customer_id'], 'customers'), fk(['product_id'], 'products')],
  },
  {
    name: 'employees',
    label: 'Employees',
    description: 'People who work for the organization.',
    columns: [
      id('Employee identifier from the HR system.'),
      col('email', 'text', { canonicalType: 'email' }, 'Work e-mail address.'),
      col('first_name', 'text', { canonicalType: 'first_name' }, 'Given name.'),
      col('last_name', 'text', { canonicalType: 'last_name' }, 'Family name.'),
      col('job_title', 'text', {}, 'Current job title.'),
      col('manager_id', 'text', {}, 'The employee this one reports to.'),
      col('country', 'varchar(2)', { canonicalType: 'iso_country' }, 'ISO 3166-1 alpha-2 country of employment.'),
      col('hired_on', 'date', { canonicalType: 'date' }, 'First working day.'),
      col('terminated_on', 'date', { canonicalType: 'date' }, 'Last working day, if they left.'),
    ],
    relationships: [fk(['manager_id'], 'employees')],
  },
];

export const templateByName = (name: string): TargetTemplate | undefined => TARGET_TEMPLATES.find((t) => t.name === name);
